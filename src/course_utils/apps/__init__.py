"""Applications and the future (Part VII, chapters 60-64): the parts of the course put to work.

Every module here builds on what earlier parts made (the tiny GPT of chapter 05, SmolLM2 of
chapter 10, retrieval of chapter 50, the governance checks of chapter 54) - it imports them,
never copies them.

- :mod:`~course_utils.apps.governance` - the checks around a deployed model: input limits,
  personal-data redaction, moderation, injection filtering, an audit log (chapter 60).
- :mod:`~course_utils.apps.stack` - a course tutor built layer by layer (data, model,
  application, governance) with a latency record per layer (chapter 60).
- :mod:`~course_utils.apps.tools` - an agent's tools: a safe calculator, a lookup in the
  course pages, the sandboxed Python runner (chapter 61).
- :mod:`~course_utils.apps.agent` - a plan-act-observe loop with grammar-constrained tool
  calls, a step budget and a trace of every step; the task set (chapter 61).
- :mod:`~course_utils.apps.quantization` - symmetric round-to-nearest weight quantization
  (per-tensor / per-channel scales, 2-8 bits), the memory account of a quantized tiny GPT, and
  bits per character from llama.cpp's logits (chapter 62).
- :mod:`~course_utils.apps.speed` - greedy decoding with and without the KV cache, a best-of-n
  timer, a thread-count context manager, and llama.cpp tokens/s with a time budget
  (chapter 62).
- :mod:`~course_utils.apps.explain` - looking inside one prediction: attention maps of every
  layer and head, the attention sink and previous-token scores, the logit lens (chapter 63).
- :mod:`~course_utils.apps.attribution` - token attributions (gradient x input, occlusion,
  attention), model-free deletion orders and the batched deletion test of faithfulness
  (chapter 63).
- :mod:`~course_utils.apps.cowriting` - a co-writing session (suggest, accept, edit, reject,
  write) that keeps a record and measures authorship (chapter 64).
- :mod:`~course_utils.apps.refinement` - simulated readers, a Bradley-Terry preference model
  learned from their votes, best-of-n refinement and win rates (chapter 64).
"""
