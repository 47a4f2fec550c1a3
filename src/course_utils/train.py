"""One entry point that trains every model the course ships.

    python -m course_utils.train                 # list the models and their checkpoints
    python -m course_utils.train tiny-gpt --help # the options of one recipe
    python -m course_utils.train digit-diffusion --steps 16000 --seed 0 --quiet

Each model's recipe lives beside the model (its module's ``main``); this module only maps a
model name to it, so there is one command to remember and one place that lists them. The
training record stored in each checkpoint starts with the command that made it
(:func:`course_utils.core.checkpoints.training_record`).
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple, Sequence


class Recipe(NamedTuple):
    module: str
    subcommand: str
    checkpoint: str
    chapter: str


RECIPES: dict[str, Recipe] = {
    "tiny-gpt": Recipe("course_utils.text.gpt_training", "train", "tiny_gpt.safetensors", "05"),
    "digit-judge": Recipe("course_utils.metrics.image_quality", "train",
                          "digit_judge.safetensors", "07, 20-23"),
    "digit-gan": Recipe("course_utils.image.gan", "train", "digit_gan.safetensors", "20"),
    "digit-diffusion": Recipe("course_utils.image.diffusion.denoiser", "train",
                              "digit_diffusion.safetensors", "21-23"),
    "shape-judge": Recipe("course_utils.image.pointcloud.point_denoiser", "train-classifier",
                          "shape_classifier.safetensors", "24"),
    "shape-diffusion": Recipe("course_utils.image.pointcloud.point_denoiser", "train",
                              "shape_diffusion.safetensors", "24"),
    "date-lora": Recipe("course_utils.llm.lora", "train", "date_lora.safetensors", "14"),
    "video-diffusion": Recipe("course_utils.video.model", "train",
                              "video_diffusion.safetensors", "32"),
    "music-gpt": Recipe("course_utils.audio.music", "train", "music_gpt.safetensors", "31"),
    "canary-gpt": Recipe("course_utils.trust.canary_training", "train",
                         "canary_gpt[_dedup]_s{0,1}.safetensors", "53"),
}


def public_command(module: str, argv: Sequence[str]) -> str:
    """The public command for a recipe's own arguments, e.g. ``("course_utils.image.gan",
    ["train", "--steps", "4000"])`` -> ``"python -m course_utils.train digit-gan --steps 4000"``.
    Stored as the first field of each training record."""
    import shlex

    argv = list(argv)
    for name, recipe in RECIPES.items():
        if recipe.module == module and argv[:1] == [recipe.subcommand]:
            return " ".join(["python -m course_utils.train", name, *map(shlex.quote, argv[1:])])
    if argv[:1] == ["benchmark"]:
        return " ".join(["python -m course_utils.bench", *map(shlex.quote, argv)])
    return " ".join(["python -m", module, *map(shlex.quote, argv)])


def usage() -> str:
    rows = [f"  {name:<16} chapter {r.chapter:<10} checkpoints/{r.checkpoint}"
            for name, r in RECIPES.items()]
    return "usage: python -m course_utils.train MODEL [options]\n\nmodels:\n" + "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in RECIPES:
        print(f"unknown model {name!r}.\n\n{usage()}", file=sys.stderr)
        return 2
    recipe = RECIPES[name]
    result = importlib.import_module(recipe.module).main([recipe.subcommand, *rest])
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
