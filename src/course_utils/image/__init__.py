"""Image and 3-D generation (chapter 07 and Part III, chapters 20-24).

- :mod:`~course_utils.image.autoencoders` - autoencoder and VAE on digits (chapter 07).
- :mod:`~course_utils.image.gan` - GANs: losses, 2-D ring, mode coverage, digit DCGAN (chapter 20).
- :mod:`course_utils.image.diffusion` - DDPM and what is built on it (chapters 21-23).
- :mod:`~course_utils.image.gram_style` - Gram matrices on a random-weight network: textures and
  style transfer (chapter 23).
- :mod:`~course_utils.image.prompts` - prompt -> class label, the one prompt encoder of the
  conditional generators (chapters 22 and 24).
- :mod:`course_utils.image.pointcloud` - diffusion on 3-D point clouds (chapter 24).
"""
