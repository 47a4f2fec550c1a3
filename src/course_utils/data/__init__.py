"""Data: every data set the course uses, read from an installed package or generated.

- :mod:`course_utils.data.sources` - the loaders (text corpus and its splits, names, 8x8 digits,
  photos, 2-D toy data). They are re-exported here, so ``from course_utils import data`` and
  ``data.load_text_splits()`` is all a notebook needs.
- :mod:`course_utils.data.speech_sentences` - the held-out sentences of chapter 30 (Harvard
  sentences, names, numbers, homophones).
- :mod:`course_utils.data.curation` - normalise, filter and de-duplicate training data
  (chapter 02).
"""

from course_utils.data.sources import (
                                       TextSplits,
                                       corpus_duplicates,
                                       load_corpus_documents,
                                       load_digits_images,
                                       load_names,
                                       load_raw_corpus_documents,
                                       load_sample_photos,
                                       load_text_corpus,
                                       load_text_splits,
                                       make_2d_mixture,
                                       make_two_moons,
                                       normalize_text,
                                       split_documents,
)

__all__ = ["TextSplits", "corpus_duplicates", "load_corpus_documents", "load_digits_images",
           "load_names", "load_raw_corpus_documents", "load_sample_photos", "load_text_corpus",
           "load_text_splits", "make_2d_mixture", "make_two_moons", "normalize_text",
           "split_documents"]
