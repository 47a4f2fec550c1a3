"""Video generation (Part IV, chapter 32).

- :mod:`~course_utils.video.clips` - the procedural data set of moving coloured shapes
  (clips ``(N, F, C, H, W)``) and the prompt encoder for them.
- :mod:`~course_utils.video.judge` - a deterministic judge: shape, colour and motion read
  from pixels, persistence, path error, and damaged clips to validate it.
- :mod:`~course_utils.video.model` - the frame-by-frame diffusion model, its training, the
  committed checkpoint and the baselines (independent frames, a Gaussian per prompt).
- :mod:`~course_utils.video.views` - Plotly animations, filmstrips and GIFs of clips.
"""
