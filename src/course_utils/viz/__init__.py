"""Visualisation: matplotlib/Plotly helpers and the ipywidgets panels that never die.

- :mod:`~course_utils.viz.plotting` - course style, figures that stay interactive in the static
  book, figure alt text.
- :mod:`~course_utils.viz.widgets` - slider/text/dropdown builders that validate input, and
  ``SafePanel``.
"""
