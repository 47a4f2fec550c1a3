"""Diffusion on 3-D point clouds (chapter 24).

- :mod:`~course_utils.image.pointcloud.shapes` - procedural 3-D shapes, Chamfer distance,
  coverage, the PointNet judge, 3-D views.
- :mod:`~course_utils.image.pointcloud.point_denoiser` - the point denoiser, its training and
  checkpoint, shape prompts.
"""
