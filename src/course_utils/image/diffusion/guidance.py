"""Text-to-image at digit scale: a prompt encoder and classifier-free guidance (chapter 22).

- :class:`PromptEncoder` turns a short prompt ("a seven", "digit 4", "Zero.") into the label
  the diffusion model was trained with (the course's one prompt encoder,
  :class:`course_utils.image.prompts.LabelPromptEncoder`, set up for digits). It is the tiny
  stand-in for the text encoder of a real text-to-image model (CLIP or T5 there): text in, a conditioning vector out - here the row of
  the denoiser's label-embedding table. Unknown words get a clear error naming the known ones.
- :func:`guided_eps` implements classifier-free guidance (Ho & Salimans 2022):
  ``eps_hat = eps(x_t, null) + w (eps(x_t, y) - eps(x_t, null))``. ``w = 0`` is the
  unconditional model, ``w = 1`` the plain conditional model, ``w > 1`` pushes samples further
  towards what makes them look like ``y`` - at a cost in diversity.
- :func:`generate_from_prompt` and :func:`guidance_sweep` are what chapter 22's widget and
  measurements call; :func:`within_class_diversity` measures the diversity side of the trade-off.

The model is the committed class-conditional DDPM of :mod:`course_utils.image.diffusion.denoiser`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from course_utils.core.validation import check_float, check_int
from course_utils.image.diffusion.ddpm import EpsFn
from course_utils.image.diffusion.denoiser import DigitDiffusion, load_digit_diffusion
from course_utils.image.prompts import LabelPromptEncoder

MAX_GUIDANCE = 10.0  # largest guidance scale accepted (beyond it samples only get worse)
MAX_PROMPT_CHARS = 100

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Words that carry no meaning for this model but may appear in a prompt.
FILLER_WORDS = ("a", "an", "the", "digit", "number", "numeral", "figure", "handwritten",
                "written", "hand", "drawn", "of", "draw", "write", "make", "show", "me",
                "please", "image", "picture", "small", "big")


class PromptEncoder(LabelPromptEncoder):
    """Maps a prompt to a digit label 0-9: the course's :class:`LabelPromptEncoder` with the
    digit words, the characters ``0``-``9`` and the :data:`FILLER_WORDS`.

    Args:
        number_words: the word for each digit 0-9 (another language, say).
        filler_words: words that may appear but carry no meaning.
    """

    def __init__(self, number_words: Sequence[str] = NUMBER_WORDS,
                 filler_words: Sequence[str] = FILLER_WORDS) -> None:
        if len(number_words) != 10:
            raise ValueError(f"number_words needs one word per digit 0-9, got "
                             f"{len(number_words)}.")
        super().__init__(names=tuple(number_words), filler_words=tuple(filler_words),
                         aliases=tuple((str(i), i) for i in range(10)), thing="digit",
                         max_chars=MAX_PROMPT_CHARS,
                         number_hint="Only single digits 0-9 exist here, not {word}.",
                         example="'a three' or 'digit 3'")

    @property
    def number_words(self) -> tuple[str, ...]:
        """The word for each digit 0-9."""
        return self.names


def check_guidance(guidance: object) -> float:
    """``guidance`` as a float in ``[0, MAX_GUIDANCE]`` (clear message otherwise)."""
    return check_float("guidance scale w", guidance, low=0.0, high=MAX_GUIDANCE)


def guided_eps(model: torch.nn.Module, labels: torch.Tensor, guidance: float) -> EpsFn:
    """Classifier-free guidance as a noise predictor for :func:`course_utils.image.diffusion.ddpm.sample`.

    ``eps_hat(x_t, t) = eps(x_t, t, null) + w (eps(x_t, t, y) - eps(x_t, t, null))``

    Args:
        model: a :class:`~course_utils.image.diffusion.ddpm.Denoiser` trained with label dropout.
        labels: ``y`` (B,) int64, one label per sample.
        guidance: ``w`` in ``[0, MAX_GUIDANCE]``; 0 = unconditional, 1 = conditional.

    Returns:
        ``eps_fn(x_t (B, ...), t (B,)) -> (B, ...)``. For ``w`` other than 0 and 1 both
        predictions come from one batched call on ``2B`` inputs.
    """
    w = check_guidance(guidance)
    labels = torch.as_tensor(labels, dtype=torch.long)
    null_label = model.null_label
    if labels.ndim != 1 or labels.min() < 0 or labels.max() >= null_label:
        raise ValueError(f"labels must be a 1-D tensor of labels 0..{null_label - 1}.")
    null = torch.full_like(labels, null_label)

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if len(x) != len(labels):
            raise ValueError(f"{len(labels)} labels for a batch of {len(x)}.")
        if w == 0.0:
            return model(x, t, null)
        if w == 1.0:
            return model(x, t, labels)
        both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null]))  # (2B, ...)
        eps_cond, eps_null = both.chunk(2)                                          # (B, ...) each
        return eps_null + w * (eps_cond - eps_null)

    return eps_fn


def generate_from_prompt(prompt: str, n: int = 16, guidance: float = 3.0,
                         steps: int | None = 100, seed: int = 0,
                         digits: DigitDiffusion | None = None,
                         encoder: PromptEncoder | None = None) -> tuple[np.ndarray, int]:
    """Draw ``n`` images for a prompt with classifier-free guidance.

    Args:
        prompt: e.g. ``"a seven"``.
        n: number of images (1-256).
        guidance: ``w`` in ``[0, 10]``.
        steps: reverse steps (1..T; ``None`` = all T).
        seed: seed of the sampler's noise.
        digits: the model (default: the committed one).
        encoder: the prompt encoder (default: :class:`PromptEncoder`).

    Returns:
        ``(images (n, 8, 8) in [0, 1], label)``.
    """
    encoder = encoder or PromptEncoder()
    label = encoder.encode(prompt)
    check_int("number of images", n, low=1, high=256)
    check_int("seed", seed, low=0)
    digits = digits or load_digit_diffusion()
    if steps is not None:
        check_int("steps", steps, low=1, high=digits.schedule.num_steps)
    labels = torch.full((n,), label, dtype=torch.long)
    images = digits.generate(n, seed=seed, steps=steps,
                             eps_fn=guided_eps(digits.model, labels, guidance))
    return images, label


def within_class_diversity(images: np.ndarray, labels: Sequence[int]) -> float:
    """Mean pixel distance between two images of the same label, averaged over labels.

    ``mean_c mean_{i != j in c} |x_i - x_j|_2`` on (N, 8, 8) images in [0, 1]; 0 when every
    image of a label is the same. Labels with fewer than 2 images are skipped.
    """
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    y = np.asarray(labels)
    if y.shape != (len(x),):
        raise ValueError(f"need one label per image: {len(x)} images, {y.shape} labels.")
    per_label = []
    for c in np.unique(y):
        group = x[y == c]
        if len(group) < 2:
            continue
        d = np.sqrt(((group[:, None] - group[None]) ** 2).sum(-1))   # (n_c, n_c)
        per_label.append(d.sum() / (len(group) * (len(group) - 1)))
    if not per_label:
        raise ValueError("within_class_diversity needs at least 2 images of some label.")
    return float(np.mean(per_label))


def guidance_sweep(scales: Sequence[float], per_digit: int = 20, steps: int | None = 100,
                   seed: int = 0, digits: DigitDiffusion | None = None,
                   show_progress: bool = True) -> tuple["object", dict[float, np.ndarray]]:
    """Sample ``per_digit`` images of every digit at each guidance scale and score them.

    The same seed (so the same starting noise) is used at every scale, so the scales differ
    only by ``w``. Scores: prompt-following accuracy (the judge's prediction equals the asked
    digit), digit rate and mean confidence of the judge, Fréchet distance to real test digits
    in the judge's feature space, and :func:`within_class_diversity` of the images grouped by
    the digit the judge reads (at ``w = 0`` the asked digit means nothing; elsewhere the two
    groupings nearly coincide).

    Returns:
        ``(table, images)``: a pandas DataFrame indexed by the scale, and per scale the images
        (10 * per_digit, 8, 8) ordered digit 0, 1, ..., 9, 0, 1, ...
    """
    import pandas as pd

    from course_utils.core.progress import progress
    from course_utils.metrics.image_quality import digit_fd, judge_digits, load_digit_judge

    check_int("per_digit", per_digit, low=2, high=500)
    if len(scales) == 0:
        raise ValueError("guidance_sweep needs at least one guidance scale.")
    scales = [check_guidance(w) for w in scales]
    digits = digits or load_digit_diffusion()
    labels = torch.arange(10 * per_digit) % 10
    rows, images = [], {}
    iterator = progress(scales, "guidance scales") if show_progress else scales
    for w in iterator:
        x = digits.generate(len(labels), seed=seed, steps=steps,
                            eps_fn=guided_eps(digits.model, labels, w))
        report = judge_digits(x, labels.numpy())
        with torch.inference_mode():
            read = load_digit_judge()(torch.from_numpy(x)[:, None]).argmax(1).numpy()  # (N,)
        rows.append({"guidance w": w, "prompt accuracy": report.accuracy,
                     "digit rate": report.digit_rate, "confidence": report.mean_confidence,
                     "FD to real": digit_fd(x), "diversity": within_class_diversity(x, read)})
        images[w] = x
    return pd.DataFrame(rows).set_index("guidance w"), images
