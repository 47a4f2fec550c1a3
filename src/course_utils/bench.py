"""One entry point for the course's speed measurements.

    python -m course_utils.bench                  # list them
    python -m course_utils.bench tiny-gpt         # training speed and time-to-loss (chapter 05)
    python -m course_utils.bench gpt-throughput   # tiny GPT beside GPT-2 of the same shape
    python -m course_utils.bench diffusion-vs-unet --seconds 240 --seeds 0 1
    python -m course_utils.bench lora-sweep --seeds 0 1 2 --out lora_sweep.json
    python -m course_utils.bench smollm2          # model-ready time and tokens/s, both paths
    python -m course_utils.bench llm-engine --tokens 128 --threads 2 --repeats 3

Results belong in measured tables (the book's setup page, chapter notebooks), not in timed tests.
"""

from __future__ import annotations

import importlib
import sys
from typing import Sequence

BENCHMARKS: dict[str, tuple[str, list[str], str]] = {
    "tiny-gpt": ("course_utils.text.gpt_training", ["benchmark"],
                 "training speed of the tiny GPT and time to a target loss"),
    "gpt-throughput": ("course_utils.text.gpt_throughput", [],
                       "tiny GPT vs transformers' GPT-2 of the same shape: training chars/s"),
    "diffusion-vs-unet": ("course_utils.image.diffusion.unet_baseline", [],
                          "digit DDPM: course MLP denoiser vs diffusers UNet, equal budget"),
    "lora-sweep": ("course_utils.llm.lora_sweep", [],
                   "LoRA rank and target layers at chapter 14's live budget, several seeds"),
    "smollm2": ("course_utils.llm.smollm2", ["benchmark"],
                "SmolLM2 model-ready time and tokens/s (llama.cpp and transformers)"),
    "llm-engine": ("course_utils.llm.engine_check", [],
                   "tokens/s of the compiled llama.cpp engine, in a child process"),
}


def usage() -> str:
    rows = [f"  {name:<12} {text}" for name, (_, _, text) in BENCHMARKS.items()]
    return "usage: python -m course_utils.bench NAME [options]\n\nbenchmarks:\n" + "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] not in BENCHMARKS:
        print(f"unknown benchmark {argv[0]!r}.\n\n{usage()}", file=sys.stderr)
        return 2
    module, prefix, _ = BENCHMARKS[argv[0]]
    return int(importlib.import_module(module).main([*prefix, *argv[1:]]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
