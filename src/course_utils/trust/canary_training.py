"""The canary models of chapter 53: the same small GPT trained on text with planted secrets,
once as is and once after line deduplication.

    python -m course_utils.train canary-gpt --seed 0        # canaries repeated 0-32 times
    python -m course_utils.train canary-gpt --seed 0 --dedup

Both runs use chapter 05's live recipe (2 layers, 64 wide, 64-character windows) for 3,000
steps - about a minute each on two cores - on the training text of chapters 02-06 with the
canaries of :func:`course_utils.trust.canaries.make_canaries` inserted. ``--dedup`` removes
repeated lines (:func:`~course_utils.trust.canaries.deduplicate_lines`) *before* training, so
every canary is left once. The seed changes the weights' initialisation and the batches, not
the canaries. Checkpoints: ``checkpoints/canary_gpt_s{seed}.safetensors`` and
``canary_gpt_dedup_s{seed}.safetensors``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import torch

from course_utils.core.checkpoints import CHECKPOINT_DIR, training_record
from course_utils.text.gpt_training import (
    bits_per_char,
    live_recipe,
    load_checkpoint,
    save_checkpoint,
    train_gpt,
)
from course_utils.text.transformer import CharTokenizer, TinyGPT
from course_utils.trust.canaries import deduplicate_lines, insert_canaries, make_canaries

SEEDS = (0, 1)
STEPS = 3000


def checkpoint_path(seed: int, dedup: bool) -> Path:
    """Where the committed canary model of ``seed`` lives."""
    return CHECKPOINT_DIR / f"canary_gpt{'_dedup' if dedup else ''}_s{seed}.safetensors"


def training_text(dedup: bool) -> tuple[str, int]:
    """The training text with the canaries inserted (and deduplicated when ``dedup``);
    returns ``(text, lines removed by deduplication)``."""
    from course_utils.data import load_text_splits

    text = insert_canaries(load_text_splits().train, make_canaries(), seed=0)
    return deduplicate_lines(text) if dedup else (text, 0)


def load_canary_model(seed: int = 0, dedup: bool = False):
    """``(model in eval mode, tokenizer, record)`` of a committed canary model."""
    if seed not in SEEDS:
        raise ValueError(f"seed must be one of {SEEDS}, got {seed!r}.")
    return load_checkpoint(checkpoint_path(seed, dedup))


def main(argv: Sequence[str] | None = None) -> int:
    from course_utils.core.environment import setup
    from course_utils.data import load_text_splits

    parser = argparse.ArgumentParser(prog="python -m course_utils.train canary-gpt",
                                     description="Train chapter 53's canary model.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--steps", type=int, default=STEPS)
    train.add_argument("--dedup", action="store_true", help="deduplicate lines first")
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--out", type=Path, default=None)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    setup(seed=args.seed, threads=args.threads)
    splits = load_text_splits()
    text, removed = training_text(args.dedup)
    tokenizer = CharTokenizer(splits.alphabet)
    model_config, recipe = live_recipe(tokenizer.vocab_size, max_seconds=None)
    recipe = replace(recipe, steps=args.steps, seed=args.seed, eval_every=500)
    model = TinyGPT(model_config)
    history = train_gpt(model, tokenizer, text, splits.val, recipe, show_progress=False)
    record = training_record("canary-gpt", argv[1:], history.seconds, seed=args.seed,
                             dedup=args.dedup, lines_removed=removed,
                             train_characters=len(text), steps=len(history.train_loss),
                             threads=torch.get_num_threads(),
                             val_bits_per_char=round(bits_per_char(model, tokenizer,
                                                                   splits.val), 4),
                             model_config=json.loads(model_config.to_json()),
                             train_config=asdict(recipe))
    out = args.out or checkpoint_path(args.seed, args.dedup)
    save_checkpoint(out, model, tokenizer, record)
    print(json.dumps(record, indent=1), "->", out)
    return 0
