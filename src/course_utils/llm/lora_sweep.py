r"""Which rank, which layers? A LoRA sweep at chapter 14's live budget.

    python -m course_utils.bench lora-sweep --seeds 0 1 2 \
        --out src/course_utils/checkpoints/lora_sweep.json
    # or one process per core, then one file:
    python -m course_utils.bench lora-sweep --seeds 0 2 --out a.json &
    python -m course_utils.bench lora-sweep --seeds 1 --out b.json; wait
    python -m course_utils.bench lora-sweep --combine a.json b.json --out lora_sweep.json

Every run starts from a fresh SmolLM2, adds LoRA with one of :data:`CONFIGS` and trains it with
chapter 14's live recipe (:data:`RECIPE`: 14 steps of 8 fresh examples, learning rate 3e-3,
``alpha = 16`` whatever the rank, as in Hu et al. 2022). Each run then records

- exact match and answer loss on the 120 held-out dates (and exact match on the first 60, the
  ones chapter 14 shows), from :func:`course_utils.llm.lora.evaluate`;
- bits per character on two of chapter 10's held-out passages with the adapter on
  (:func:`general_bits`): what the adapter costs outside the task;
- trainable parameters and training seconds.

The seed sets both the adapter's random ``A`` and the stream of training examples, so the
spread over seeds is the noise a single comparison has to beat. Fourteen steps is where the
live run stops short of the committed adapter's 99 %: a budget at which the settings can still
differ. The result file is a stored measurement (JSON, with the command, machine and date);
chapter 14 reads it with :func:`read_sweep` and re-runs one of its cells live to check it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

from course_utils.core.checkpoints import CHECKPOINT_DIR
from course_utils.llm import lora as ft

SWEEP_NAME = "lora_sweep.json"
QV = ("q_proj", "v_proj")
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
ALL_LINEAR = ATTENTION + MLP

ALPHA = 16.0  # the same alpha at every rank (the update is scaled by ALPHA / r)

#: (name, settings): ranks on chapter 14's query and value projections, then other targets
#: at the same rank, and every linear layer at rank 1 (fewer parameters than q, v at r 8).
CONFIGS: tuple[tuple[str, ft.LoraSettings], ...] = (
    *((f"q, v  r={r}", ft.LoraSettings(r=r, alpha=ALPHA, target_modules=QV))
      for r in (1, 2, 4, 8, 16, 64)),
    ("q, k, v, o  r=8", ft.LoraSettings(r=8, alpha=ALPHA, target_modules=ATTENTION)),
    ("MLP (gate, up, down)  r=8", ft.LoraSettings(r=8, alpha=ALPHA, target_modules=MLP)),
    ("all seven  r=8", ft.LoraSettings(r=8, alpha=ALPHA, target_modules=ALL_LINEAR)),
    ("all seven  r=1", ft.LoraSettings(r=1, alpha=ALPHA, target_modules=ALL_LINEAR)),
)

#: Chapter 14's live recipe, without its 30-second cut-off (every run takes all 14 steps).
RECIPE = ft.TrainSettings(steps=14, batch_size=8, lr=3e-3)

SHOWN = 60  # chapter 14 evaluates the first 60 held-out dates live


def general_passages() -> list[str]:
    """Two of chapter 10's six held-out passages of 1,000 characters (the 1st and the 4th)."""
    from course_utils import data
    from course_utils.llm.chat import held_out_passages

    return held_out_passages(data.load_text_splits().test, n=6, length=1000)[::3]


def general_bits(model, tokenizer, passages: Sequence[str]) -> float:
    """Bits per character over ``passages``, characters pooled:
    ``sum_p bits(p) * len(p) / sum_p len(p)`` with :func:`smollm2.bits_per_character`."""
    from course_utils.llm import smollm2

    bits = [smollm2.bits_per_character(model, tokenizer, p) * len(p) for p in passages]
    return sum(bits) / sum(len(p) for p in passages)


def run_one(settings: ft.LoraSettings, seed: int, heldout, passages,
            recipe: ft.TrainSettings | None = None) -> dict:
    """Train one adapter from a fresh SmolLM2 with ``recipe`` (default :data:`RECIPE`) and
    score it. Returns one result row."""
    from dataclasses import replace

    from course_utils.llm import smollm2

    base, tokenizer = smollm2.load_hf_model()
    model = ft.add_lora(base, settings, seed=seed)
    trainable, _ = ft.count_parameters(model)
    recipe = replace(recipe or RECIPE, seed=seed)
    history = ft.train_lora(model, tokenizer, recipe, show_progress=False)
    scores = ft.evaluate(model, tokenizer, heldout)
    return {"seed": seed, "r": settings.r, "targets": list(settings.target_modules),
            "trainable": trainable, "steps": history.steps,
            "train_seconds": round(history.total_seconds, 1),
            "exact_match": round(scores.accuracy, 4),
            "exact_match_shown": round(float(scores.correct[:SHOWN].mean()), 4),
            "answer_loss": round(scores.mean_loss, 4),
            "general_bits": round(general_bits(model, tokenizer, passages), 4)}


def read_sweep(path: str | Path | None = None) -> dict:
    """The stored sweep: ``{"commands", "machine", "date", "recipe", "base": {...},
    "runs": [{"name", "seed", "r", "targets", "trainable", "exact_match", ...}, ...]}``."""
    path = Path(path) if path is not None else CHECKPOINT_DIR / SWEEP_NAME
    if not path.exists():
        raise FileNotFoundError(f"No LoRA sweep at {path}; measure it with "
                                "`python -m course_utils.bench lora-sweep --out " f"{path}`.")
    return json.loads(path.read_text())


def sweep_table(sweep: dict, reference: str = "q, v  r=8"):
    """One row per setting, in the order of :data:`CONFIGS` (a ``pandas.DataFrame``):
    trainable parameters; mean and range (max - min) over seeds of exact match; mean answer
    loss and general bits per character; and, for exact match and for general bits, the
    **paired** difference to ``reference``, ``d_s = m[setting, s] - m[reference, s]``: its mean
    over seeds and its smallest and largest ``d_s``. A seed draws the same training examples
    for every setting, so a difference whose sign holds in every seed is more than luck."""
    import pandas as pd

    runs = pd.DataFrame(sweep["runs"])
    order = list(dict.fromkeys(runs["name"]))
    if reference not in order:
        raise ValueError(f"reference {reference!r} is not in the sweep; it has {order}.")
    grouped = runs.groupby("name", sort=False)
    table = pd.DataFrame({
        "trainable": grouped["trainable"].first(),
        "seeds": grouped["seed"].count(),
        "exact match": grouped["exact_match"].mean(),
        "exact match spread": grouped["exact_match"].agg(lambda s: s.max() - s.min()),
        "answer loss": grouped["answer_loss"].mean(),
        "general bits": grouped["general_bits"].mean(),
    })
    for column, label in (("exact_match", "exact match"), ("general_bits", "bits")):
        by_seed = runs.pivot(index="seed", columns="name", values=column)
        paired = by_seed.sub(by_seed[reference], axis=0)  # NaN where a seed is missing
        table[f"paired {label}"] = paired.mean()
        table[f"paired {label} min"] = paired.min()
        table[f"paired {label} max"] = paired.max()
    return table.loc[order]


def combine(sweeps: Sequence[dict]) -> dict:
    """One sweep from several measured with the same recipe, held-out set and machine (e.g.
    one process per core): their runs in order, their commands listed."""
    first = sweeps[0]
    for other in sweeps[1:]:
        for key in ("recipe", "heldout", "base", "machine"):
            if other[key] != first[key]:
                raise ValueError(f"Sweeps differ in {key!r}: {first[key]!r} vs {other[key]!r}; "
                                 "only sweeps of the same recipe and machine combine.")
    commands = [c for s in sweeps for c in s["commands"]]
    return {**first, "commands": commands, "runs": [r for s in sweeps for r in s["runs"]]}


def _command(argv: Sequence[str]) -> str:
    """The command line as it would be typed (recorded in the result file)."""
    import shlex

    return " ".join(["python -m course_utils.bench lora-sweep", *map(shlex.quote, argv)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench lora-sweep",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", type=int, default=None,
                        help="indices into CONFIGS (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--heldout", type=int, default=ft.HELDOUT_SIZE,
                        help="score on the first N held-out dates (fewer: a quick check)")
    parser.add_argument("--out", default=None, help="write the results here (JSON)")
    parser.add_argument("--combine", nargs="+", default=None, metavar="JSON",
                        help="write these sweeps as one to --out, measuring nothing")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.combine:
        if not args.out:
            parser.error("--combine needs --out")
        combined = combine([read_sweep(p) for p in args.combine])
        combined["commands"].append(_command(argv))
        Path(args.out).write_text(json.dumps(combined, indent=1) + "\n")
        print(f"{len(combined['runs'])} runs from {len(args.combine)} sweeps -> {args.out}")
        return 0
    configs = [CONFIGS[i] for i in (args.configs or range(len(CONFIGS)))]
    if not 1 <= args.heldout <= ft.HELDOUT_SIZE:
        parser.error(f"--heldout must be in 1..{ft.HELDOUT_SIZE}")

    import torch

    from course_utils.core.environment import setup
    from course_utils.llm import smollm2

    setup(seed=0, threads=args.threads, quiet=True)
    heldout = ft.heldout_examples()[:args.heldout]
    passages = general_passages()
    base, tokenizer = smollm2.load_hf_model()
    before = ft.evaluate(base, tokenizer, heldout)
    result = {
        "commands": [_command(argv)],
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} thread(s)",
        "date": dt.date.today().isoformat(),
        "recipe": {"steps": RECIPE.steps, "batch_size": RECIPE.batch_size, "lr": RECIPE.lr,
                   "alpha": int(ALPHA)},
        "heldout": len(heldout),
        "base": {"exact_match": round(before.accuracy, 4),
                 "answer_loss": round(before.mean_loss, 4),
                 "general_bits": round(general_bits(base, tokenizer, passages), 4)},
        "runs": [],
    }
    del base
    print(f"{result['machine']}; base model: exact match {before.accuracy:.3f}, general "
          f"{result['base']['general_bits']:.3f} bits/char", flush=True)
    print(f"{'setting':<27} {'seed':>4} {'trainable':>10} {'s':>5} {'exact':>6} {'loss':>6} "
          f"{'bits':>6}", flush=True)
    start = time.perf_counter()
    for name, settings in configs:
        for seed in args.seeds:
            row = {"name": name, **run_one(settings, seed, heldout, passages)}
            result["runs"].append(row)
            print(f"{name:<27} {seed:>4} {row['trainable']:>10,} {row['train_seconds']:>5.0f} "
                  f"{row['exact_match']:>6.3f} {row['answer_loss']:>6.3f} "
                  f"{row['general_bits']:>6.3f}", flush=True)
            if args.out:  # after every run: a long sweep cut short keeps what it measured
                Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(result['runs'])} runs in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
