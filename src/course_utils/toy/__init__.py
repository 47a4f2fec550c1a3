"""Toy generative models of 2-D points.

- :mod:`~course_utils.toy.density` - Gaussian mixtures: fit, score, sample, classify (chapter 01).
"""
