"""Metrics that judge generated samples, shared by several chapters.

- :mod:`~course_utils.metrics.two_sample` - moment gaps and the classifier two-sample test
  (chapter 01).
- :mod:`~course_utils.metrics.image_quality` - the digit judge, its feature space and the
  Frechet distance used by every image chapter (07, 20-23).
- :mod:`~course_utils.metrics.bootstrap` - block-bootstrap intervals of a paired difference
  (chapter 05).
"""
