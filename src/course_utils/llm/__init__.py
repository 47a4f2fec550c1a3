"""A pretrained LLM, offline: SmolLM2-135M-Instruct and what is built on it (Part II, 10-14).

- :mod:`~course_utils.llm.engine` - where the GGUF file lives, its tokenizer, the raw llama.cpp
  engine and next-token logits.
- :mod:`~course_utils.llm.engine_check` - the install-time check that the compiled engine runs.
- :mod:`~course_utils.llm.smollm2` - SmolLM2 as an LLM: chat template, streaming, JSON grammars,
  and the ``transformers`` inspection path (chapters 10-14).
- :mod:`~course_utils.llm.chat` - chat widget and model-inspection helpers (chapter 10).
- :mod:`~course_utils.llm.prompting` - labelled task set, prompt styles and scoring (chapter 11).
- :mod:`~course_utils.llm.writing` - writing templates, length control, ROUGE/chrF (chapter 12).
- :mod:`~course_utils.llm.sandbox` - run untrusted code in a guarded subprocess (chapter 13).
- :mod:`~course_utils.llm.codegen` - code-generation tasks, pass@k, repair loop (chapter 13).
- :mod:`~course_utils.llm.minilm` - all-MiniLM-L6-v2, the shared sentence encoder (chapters 40, 50).
- :mod:`~course_utils.llm.lora` - LoRA fine-tuning of SmolLM2 on a generated task (chapter 14).
"""
