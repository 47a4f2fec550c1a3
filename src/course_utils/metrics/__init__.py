"""Metrics that judge generated samples, shared by several chapters.

- :mod:`~course_utils.metrics.two_sample` - moment gaps and the classifier two-sample test
  (chapter 01).
- :mod:`~course_utils.metrics.image_quality` - the digit judge, its feature space and the
  Frechet distance used by every image chapter (07, 20-23).
- :mod:`~course_utils.metrics.bootstrap` - block-bootstrap intervals of a paired difference
  (chapter 05).

Chapter 51 compares them all on samples whose faults are known:

- :mod:`~course_utils.metrics.degradations` - pretend generators: noise, blur, mode dropping,
  memorisation, a pixel Gaussian, built on a split of the training digits.
- :mod:`~course_utils.metrics.memorisation` - nearest-training-neighbour distances and the
  copy rate they give.
- :mod:`~course_utils.metrics.scorecard` - every image or text metric of the course on one
  sample set, with which way is better.
- :mod:`~course_utils.metrics.text_overlap` - BLEU, ROUGE, chrF and embedding cosine against
  references.
- :mod:`~course_utils.metrics.rewrites` - reference sentences and rewrites whose effect on the
  meaning is known.
- :mod:`~course_utils.metrics.preference` - Bradley-Terry strengths from pairwise votes and a
  simulated judge with optional length and position bias.
"""
