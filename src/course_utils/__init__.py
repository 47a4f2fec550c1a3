"""Shared, tested helpers for *Generative AI — a runnable course*.

Notebooks start with::

    import course_utils as cu
    env = cu.setup()

One module per topic:

- :mod:`course_utils.environment` - ``setup()``: seeds, threads, plotting style, offline flags.
- :mod:`course_utils.device` - choose CPU / CUDA / MPS.
- :mod:`course_utils.progress` - progress bars for loops longer than a couple of seconds.
- :mod:`course_utils.checkpoint_files` - reading the course's safetensors checkpoints, with clear errors.
- :mod:`course_utils.plotting` - matplotlib and Plotly helpers (incl. figures that stay
  interactive in the static book).
- :mod:`course_utils.widgets` - ipywidgets builders that validate input and never die.
- :mod:`course_utils.data` - offline corpora, names, images and 2-D toy data.
- :mod:`course_utils.density` - Gaussian mixtures: fit, score, sample, classify (chapter 01).
- :mod:`course_utils.evaluation` - sample-quality metrics: moment gaps, classifier two-sample test.
- :mod:`course_utils.ngram` - character n-gram language models (chapter 03).
- :mod:`course_utils.charmlp` - next-character MLP (chapter 02).
- :mod:`course_utils.curation` - normalise, filter and de-duplicate training data (chapter 02).
- :mod:`course_utils.bpe` - byte-level BPE tokenizer from scratch (chapter 04).
- :mod:`course_utils.tokenization` - compare tokenizers side by side, token colouring (chapter 04).
- :mod:`course_utils.transformer` - the tiny GPT: attention, blocks, model (chapter 05).
- :mod:`course_utils.gpt_training` - its training recipe, scoring, checkpoints, benchmark (chapter 05).
- :mod:`course_utils.sampling` - decoding strategies for any language model (chapter 06).
- :mod:`course_utils.smollm2` - SmolLM2-135M-Instruct offline: tokenizer and llama.cpp engine.
- :mod:`course_utils.llm` - SmolLM2 as an LLM: chat, streaming, JSON grammars (llama.cpp) and
  the transformers inspection path with a dequantized cache (chapters 10-14).
- :mod:`course_utils.chat` - chat widget and model-inspection helpers (chapter 10).
- :mod:`course_utils.prompting` - labelled task set, prompt styles and their scoring (chapter 11).
- :mod:`course_utils.writing` - writing templates, length control, ROUGE/chrF scoring (chapter 12).
- :mod:`course_utils.sandbox` - run untrusted code in a guarded subprocess (chapter 13).
- :mod:`course_utils.codegen` - code-generation tasks, pass@k, repair loop (chapter 13).
- :mod:`course_utils.finetune` - LoRA fine-tuning of SmolLM2 on a generated task (chapter 14).
- :mod:`course_utils.image_eval` - the image evaluation kit: digit judge, Fréchet distance.
- :mod:`course_utils.autoencoders` - autoencoder and VAE on digits (chapter 07).
- :mod:`course_utils.gan` - GANs: losses, 2-D ring, mode coverage, digit DCGAN (chapter 20).
- :mod:`course_utils.diffusion` - DDPM from scratch: schedule, forward noising, reverse sampler (chapter 21).
- :mod:`course_utils.diffusion_training` - the denoiser network, its training and checkpoint (chapter 21).
- :mod:`course_utils.guidance` - text prompts and classifier-free guidance (chapter 22).
- :mod:`course_utils.editing` - inpainting (replace, RePaint), SDEdit, masks and sketches (chapter 23).
- :mod:`course_utils.style` - Gram matrices on a random-weight network: textures, style transfer (chapter 23).
- :mod:`course_utils.pointcloud` - procedural 3-D shapes, Chamfer distance, coverage, PointNet judge, 3-D views (chapter 24).
- :mod:`course_utils.pointcloud_training` - the point denoiser, its training and checkpoint, shape prompts (chapter 24).
- :mod:`course_utils.notebook_runner` - execute notebooks, record timings, status page.
"""

from course_utils.device import pick_device
from course_utils.environment import CourseEnvironment, seed_everything, setup
from course_utils.progress import progress

__all__ = ["CourseEnvironment", "pick_device", "progress", "seed_everything", "setup"]
__version__ = "0.1.0"
