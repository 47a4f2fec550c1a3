"""Core: what every chapter uses, whatever its model.

- :mod:`~course_utils.core.environment` - ``setup()``: seeds, threads, plotting style, offline flags.
- :mod:`~course_utils.core.device` - choose CPU / CUDA / MPS.
- :mod:`~course_utils.core.progress` - progress bars for loops longer than a couple of seconds.
- :mod:`~course_utils.core.validation` - argument checks with messages that say what to do.
- :mod:`~course_utils.core.checkpoints` - where the course's safetensors checkpoints live, and
  reading them with clear errors.
- :mod:`~course_utils.core.notebook_runner` - execute notebooks, record timings, status page.
"""
