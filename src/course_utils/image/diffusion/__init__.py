"""Denoising diffusion on 8x8 digits (chapters 21-23).

- :mod:`~course_utils.image.diffusion.ddpm` - DDPM from scratch: schedule, forward noising,
  reverse sampler (chapter 21).
- :mod:`~course_utils.image.diffusion.denoiser` - the denoiser network, its training and
  checkpoint (chapter 21).
- :mod:`~course_utils.image.diffusion.guidance` - text prompts and classifier-free guidance
  (chapter 22).
- :mod:`~course_utils.image.diffusion.editing` - inpainting (replace, RePaint), SDEdit, masks
  and sketches (chapter 23).
"""
