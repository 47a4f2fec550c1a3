"""Shared, tested helpers for *Generative AI — a runnable course*.

Notebooks start with::

    import course_utils as cu
    env = cu.setup()

The package is laid out by role and by part of the course. To find a chapter's code, look up
its number here:

==========  =====================================================================================
chapter     module
==========  =====================================================================================
every       ``core.environment`` (``setup``), ``core.device``, ``core.progress``,
            ``core.validation``, ``core.checkpoints``; ``viz.plotting``, ``viz.widgets``;
            ``data`` (every data set); ``viz.plotting.mosaic`` (every image grid)
01          ``toy.density`` (Gaussian mixtures), ``metrics.two_sample``
02          ``text.char_mlp``, ``data.curation``
03          ``text.ngram``
04          ``text.bpe``, ``text.tokenization``
05          ``text.transformer`` (the tiny GPT), ``text.gpt_training``, ``text.scoring``
            (per-position scores, calibration); ``metrics.bootstrap`` (intervals)
06          ``text.decoding``, ``text.scoring``
07          ``image.autoencoders``; ``metrics.image_quality`` (digit judge, Frechet distance)
10          ``llm.engine`` (GGUF file, llama.cpp), ``llm.smollm2`` (chat, grammars, inspection
            path), ``llm.chat``
11          ``llm.prompting``
12          ``llm.writing``
13          ``llm.codegen``, ``llm.sandbox``
14          ``llm.lora``
20          ``image.gan``
21          ``image.diffusion.ddpm``, ``image.diffusion.denoiser``
22          ``image.diffusion.guidance``, ``image.prompts`` (the prompt encoder, also 24)
23          ``image.diffusion.editing``, ``image.gram_style``
24          ``image.pointcloud.shapes``, ``image.pointcloud.point_denoiser``
30          ``audio.speech`` (Piper voice, Whisper listener), ``audio.word_errors``,
            ``audio.formant`` (rule-based baseline), ``audio.voiceprint``; ``audio.signal``
            and ``audio.figures`` (also 31); ``data.speech_sentences``
31          ``audio.music`` (corpus, symbols, synthesis, statistics, generators, the
            committed music transformer), ``audio.sound_effects``
32          ``video.clips`` (moving-shape clips, prompts), ``video.judge``,
            ``video.model`` (frame-by-frame diffusion, baselines), ``video.views``
40          ``multimodal.captioned_shapes`` (captioned image data set),
            ``multimodal.contrastive`` (CLIP-style model, InfoNCE, retrieval metrics,
            baselines); ``llm.minilm`` (the shared sentence encoder, also 50)
50          ``trust.retrieval`` (chunking, MiniLM and BM25 retrieval, recall@k),
            ``trust.questions``, ``trust.rag`` (closed book vs RAG, extractive baseline,
            abstention, verification)
51          ``metrics.degradations`` (pretend generators with known faults),
            ``metrics.memorisation`` (nearest-training-neighbour copy rate),
            ``metrics.scorecard`` (every metric on one sample set), ``metrics.text_overlap``
            (BLEU, ROUGE, chrF, embedding cosine), ``metrics.rewrites`` (sentences with
            known meaning changes), ``metrics.preference`` (Bradley-Terry, simulated judge)
52          ``trust.association`` (WEAT, GloVe, debiasing), ``trust.skew`` (planted skew,
            counterfactual augmentation)
53          ``trust.canaries`` (planted secrets, exposure, deduplication),
            ``trust.canary_training`` (the committed canary models); ``metrics.memorisation``
54          ``trust.watermark``, ``trust.injection``, ``trust.moderation``; ``llm.sandbox``
55          ``trust.compute`` (FLOPs, throughput, scaling fit, energy, cost calculator)
60          ``apps.governance`` (redaction, moderation, audit log), ``apps.stack`` (the course
            tutor, layer by layer); ``trust.watermark.logits_processor``
61          ``apps.tools`` (calculator, course lookup, Python sandbox), ``apps.agent`` (the
            tool-using loop, tasks, router)
62          ``apps.quantization``, ``apps.speed`` (KV cache, threads, llama.cpp timing)
63          ``apps.explain`` (attention, logit lens), ``apps.attribution`` (attributions,
            deletion test)
64          ``apps.cowriting`` (co-writing record), ``apps.refinement`` (preference model,
            best-of-n, win rate)
==========  =====================================================================================

Subpackages: :mod:`course_utils.core` (what every chapter uses), :mod:`course_utils.viz`
(figures and widgets), :mod:`course_utils.data`, :mod:`course_utils.metrics` (judges of
generated samples shared by several chapters), :mod:`course_utils.toy` (2-D models),
:mod:`course_utils.text` (Part I text models from scratch), :mod:`course_utils.llm` (Part II,
SmolLM2), :mod:`course_utils.image` (chapter 07 and Part III), :mod:`course_utils.audio`
(Part IV, chapters 30-31), :mod:`course_utils.video` (chapter 32),
:mod:`course_utils.multimodal` (chapter 40), :mod:`course_utils.trust` (chapters 50
and 52-55) and :mod:`course_utils.apps` (Part VII, chapters 60-64). Each subpackage's docstring lists its modules.

Command lines: ``python -m course_utils.train MODEL`` trains any shipped checkpoint,
``python -m course_utils.bench NAME`` runs a speed measurement, ``python -m
course_utils.llm.engine_check`` is the install-time check of the compiled LLM engine, and
``course-notebooks`` executes notebooks and records their timings.
"""

from course_utils.core.device import pick_device
from course_utils.core.environment import CourseEnvironment, seed_everything, setup
from course_utils.core.progress import progress

__all__ = ["CourseEnvironment", "pick_device", "progress", "seed_everything", "setup"]
__version__ = "0.1.0"
