"""Text models built from scratch (Part I, chapters 02-06).

- :mod:`~course_utils.text.char_mlp` - next-character MLP (chapter 02).
- :mod:`~course_utils.text.ngram` - character n-gram language models (chapter 03).
- :mod:`~course_utils.text.bpe` - byte-level BPE tokenizer from scratch (chapter 04).
- :mod:`~course_utils.text.tokenization` - tokenizers side by side, token colouring (chapter 04).
- :mod:`~course_utils.text.transformer` - the tiny GPT: attention, blocks, model (chapter 05).
- :mod:`~course_utils.text.gpt_training` - its training recipe, scoring, checkpoint, benchmark
  (chapter 05).
- :mod:`~course_utils.text.scoring` - per-position scores and calibration of the tiny GPT
  (chapters 05, 06).
- :mod:`~course_utils.text.decoding` - decoding strategies for any language model (chapter 06).
"""
