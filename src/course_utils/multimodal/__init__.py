"""Part V, multimodal models (chapter 40).

Modules:

- :mod:`course_utils.multimodal.captioned_shapes` - the procedural captioned image data set
  (coloured shapes with sizes and positions, held-out colour-shape combinations, two-object
  scenes and their swapped captions);
- :mod:`course_utils.multimodal.contrastive` - the CLIP-style model: a small image CNN, the
  frozen MiniLM text tower with a linear projection, the symmetric InfoNCE loss, training,
  retrieval metrics, the ridge and nearest-neighbour baselines, and the checkpoint.
"""
