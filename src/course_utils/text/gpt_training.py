"""Train, score, save and load the tiny GPT of chapter 05.

- :func:`bits_per_char` scores a model on held-out text (every character predicted with at
  least half a context window before it).
- :func:`train_gpt` is the course's training recipe: AdamW, linear warm-up then cosine decay,
  gradient clipping, random windows of the training text; optional time budget for live runs.
- :func:`save_checkpoint` / :func:`load_checkpoint` use ``safetensors`` (no pickle) with the
  config, alphabet and training record in the file's metadata.
- :func:`load_pretrained_tiny_gpt` loads the committed checkpoint shipped in this package.

The committed checkpoint is produced by this module's command line (its exact command is
stored in the checkpoint's metadata and shown in chapter 05; the flags repeat the defaults)::

    python -m course_utils.train tiny-gpt --out src/course_utils/checkpoints/tiny_gpt.safetensors \
        --steps 5000 --eval-every 250 --dropout 0.15 --threads 1 --quiet

(5,000 steps of 32 x 128 characters, 0.82 M parameters; 43 minutes on one core of a busy
2-core machine; validation 1.70, test 1.87 bits per character, against 1.80 / 1.96 for
chapter 03's best n-gram model)

and ``python -m course_utils.bench tiny-gpt`` measures, on this machine, the training
throughput and the time to reach given validation losses for chapter 05's live recipe
(:func:`live_recipe`) and for the first steps of the checkpoint recipe, and scores the
committed checkpoint (about 2-3 minutes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import load_model

from course_utils.core.checkpoints import (
    CHECKPOINT_DIR,
    read_checkpoint,
    train_command,
    write_checkpoint,
)
from course_utils.core.progress import progress
from course_utils.core.training import warmup_cosine
from course_utils.text.scoring import position_bits, position_logits
from course_utils.text.transformer import CharTokenizer, GPTConfig, TinyGPT
from course_utils.train import public_command

CHECKPOINT_NAME = "tiny_gpt.safetensors"
#: Dropout of the committed checkpoint (more than GPTConfig's default: 5,000 steps see the
#: 305,000-character training text about 65 times over).
CHECKPOINT_DROPOUT = 0.15
LN2 = math.log(2.0)


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. Defaults are the recipe of the committed checkpoint."""

    steps: int = 5000  # optimiser steps (the cosine schedule spans exactly this many)
    batch_size: int = 32  # B: windows per step
    lr: float = 3e-3  # peak learning rate (AdamW), reached after the warm-up
    warmup_steps: int = 100  # linear warm-up from 0 to lr
    min_lr_fraction: float = 0.1  # the cosine decays to lr * min_lr_fraction
    weight_decay: float = 0.1  # AdamW decoupled decay on matrices (not on norms / biases)
    grad_clip: float = 1.0  # clip the global gradient norm to this value
    eval_every: int = 250  # score the validation text every this many steps
    eval_chars: int = 20_000  # characters of validation text scored at each evaluation
    max_seconds: float | None = None  # stop early after this much wall time (live training)
    seed: int = 0  # seeds the initial weights' order-independent RNG and the batch sampler

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}.")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ValueError(f"lr must be in (0, 1), got {self.lr!r}.")
        if self.warmup_steps < 0 or self.warmup_steps >= self.steps:
            raise ValueError("warmup_steps must be >= 0 and smaller than steps.")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive (or None for no limit).")

    def learning_rate(self, step: int) -> float:
        """Learning rate at ``step`` (0-based): linear warm-up, then cosine to the floor
        (:func:`course_utils.core.training.warmup_cosine`)."""
        return warmup_cosine(step, self.steps, self.lr, self.warmup_steps,
                             floor_fraction=self.min_lr_fraction)


@dataclass
class TrainHistory:
    """What happened during training: losses in nats per character, validation in bits."""

    train_loss: list[float] = field(default_factory=list)  # one per step, nats/char
    val_steps: list[int] = field(default_factory=list)
    val_bits: list[float] = field(default_factory=list)  # bits/char on eval_chars of val text
    val_seconds: list[float] = field(default_factory=list)  # training time at each evaluation
    seconds: float = 0.0  # training time, evaluations excluded
    tokens_seen: int = 0  # B * T summed over steps

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_seen / self.seconds if self.seconds else 0.0

    def seconds_to_reach(self, bits: float) -> float | None:
        """Training seconds until validation first reached ``bits`` (None if it never did)."""
        for value, seconds in zip(self.val_bits, self.val_seconds):
            if value <= bits:
                return seconds
        return None


def encode_text(tokenizer: CharTokenizer, text: str) -> torch.Tensor:
    """Text as a 1-D ``int64`` tensor of ids (N,)."""
    return torch.tensor(tokenizer.encode(text), dtype=torch.long)


def random_windows(data: torch.Tensor, block_size: int, batch_size: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``batch_size`` windows: inputs ``x`` (B, T) and targets ``y = x`` shifted by one."""
    if len(data) < block_size + 2:
        raise ValueError(f"The training text has {len(data)} tokens; it needs more than "
                         f"block_size + 1 = {block_size + 1}.")
    starts = torch.randint(0, len(data) - block_size - 1, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)  # (T,)
    x = data[starts[:, None] + offsets]  # (B, T)
    y = data[starts[:, None] + offsets + 1]  # (B, T)
    return x, y


def bits_per_char(model: TinyGPT, tokenizer: CharTokenizer, text: str,
                  batch_size: int = 32) -> float:
    """Average ``-log2 p(c_t | c_<t)`` over ``text`` (every character after the first).

    Windows of ``T = block_size`` characters overlap by half, so each scored character sees at
    least ``T / 2`` characters of context (the first window scores all of its characters).
    The per-position scores are :func:`course_utils.text.scoring.position_bits`.
    """
    logits, targets = position_logits(model, tokenizer, text, batch_size)
    return position_bits(logits, targets).mean_bits


def _param_groups(model: TinyGPT, weight_decay: float) -> list[dict]:
    """Decay matrices (embeddings, linear weights); never norms or biases."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def train_gpt(model: TinyGPT, tokenizer: CharTokenizer, train_text: str, val_text: str,
              config: TrainConfig = TrainConfig(), show_progress: bool = True,
              on_eval: Callable[[TrainHistory], None] | None = None) -> TrainHistory:
    """Train ``model`` in place on ``train_text`` and score ``val_text`` as it goes.

    Each step draws ``B`` random windows ``x`` (B, T) with targets ``y`` (B, T), minimises the
    mean cross-entropy ``-(1/BT) sum log p(y_bt | x_b,<=t)`` with AdamW, and follows the
    warm-up + cosine schedule of :meth:`TrainConfig.learning_rate`.

    Args:
        model: the model to train.
        tokenizer: maps the texts to ids (same alphabet as the model).
        train_text, val_text: training text; held-out text scored every ``eval_every`` steps
            (its first ``eval_chars`` characters) and at the end.
        config: the recipe.
        show_progress: draw a progress bar.
        on_eval: called with the history after each evaluation (e.g. to redraw a plot).

    Returns:
        The :class:`TrainHistory`.
    """
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError("The tokenizer and the model disagree on the vocabulary size.")
    train_ids = encode_text(tokenizer, train_text)
    val_sample = val_text[:config.eval_chars]
    encode_text(tokenizer, val_sample)  # fail early on unknown characters
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr,
                                  betas=(0.9, 0.99))
    history = TrainHistory()
    T = model.config.block_size
    steps = range(config.steps)
    iterator = progress(steps, "training", unit="step") if show_progress else steps
    model.train()
    clock = time.perf_counter()
    for step in iterator:
        for group in optimiser.param_groups:
            group["lr"] = config.learning_rate(step)
        x, y = random_windows(train_ids, T, config.batch_size, generator)
        logits = model(x)  # (B, T, V)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimiser.step()
        history.train_loss.append(loss.item())
        history.tokens_seen += x.numel()
        last = step == config.steps - 1
        out_of_time = (config.max_seconds is not None
                       and history.seconds + time.perf_counter() - clock >= config.max_seconds)
        if (step + 1) % config.eval_every == 0 or last or out_of_time:
            history.seconds += time.perf_counter() - clock
            history.val_steps.append(step + 1)
            history.val_bits.append(bits_per_char(model, tokenizer, val_sample))
            history.val_seconds.append(history.seconds)
            if on_eval is not None:
                on_eval(history)
            model.train()
            clock = time.perf_counter()
        if out_of_time:
            break
    history.seconds += time.perf_counter() - clock
    model.eval()
    return history


# --- checkpoints -------------------------------------------------------------------------

def save_checkpoint(path: str | Path, model: TinyGPT, tokenizer: CharTokenizer,
                    record: dict | None = None) -> Path:
    """Write weights + config + alphabet (+ a JSON training record) to one safetensors file."""
    return write_checkpoint(path, model, {"config": model.config.to_json(),
                                          "alphabet": json.dumps(tokenizer.alphabet),
                                          "record": record or {}})


def load_checkpoint(path: str | Path) -> tuple[TinyGPT, CharTokenizer, dict]:
    """Load a checkpoint written by :func:`save_checkpoint`: (model in eval mode, tokenizer,
    training record)."""
    _, metadata = read_checkpoint(path, "tiny-GPT", train_command("tiny-gpt"),
                                  required=("config", "alphabet"))
    model = TinyGPT(GPTConfig.from_json(metadata["config"]))
    load_model(model, str(path))
    model.eval()
    return model, CharTokenizer(json.loads(metadata["alphabet"])), json.loads(
        metadata.get("record", "{}"))


def pretrained_checkpoint_path() -> Path:
    """Where the committed checkpoint lives inside the installed package."""
    return Path(str(CHECKPOINT_DIR / CHECKPOINT_NAME))


def load_pretrained_tiny_gpt() -> tuple[TinyGPT, CharTokenizer, dict]:
    """The committed tiny GPT (see the module docstring for the command that trains it)."""
    return load_checkpoint(pretrained_checkpoint_path())


# --- command line ------------------------------------------------------------------------

def _train_command(args: argparse.Namespace) -> int:
    from course_utils.core.environment import setup
    from course_utils.data import load_text_splits

    setup(seed=args.seed, threads=args.threads, quiet=True)
    splits = load_text_splits()
    tokenizer = CharTokenizer(splits.alphabet)
    model = TinyGPT(GPTConfig(
        vocab_size=tokenizer.vocab_size, block_size=args.block_size, n_layer=args.n_layer,
        n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout))
    recipe = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         eval_every=args.eval_every, seed=args.seed)
    print(f"{model.num_parameters():,} parameters; training {recipe.steps} steps "
          f"of {recipe.batch_size} x {model.config.block_size} characters", flush=True)
    history = train_gpt(model, tokenizer, splits.train, splits.val, recipe,
                        show_progress=not args.quiet,
                        on_eval=lambda h: print(f"step {h.val_steps[-1]:5d}  "
                                                f"{h.val_seconds[-1]:7.1f} s  val "
                                                f"{h.val_bits[-1]:.3f} bits/char", flush=True))
    val_bits = bits_per_char(model, tokenizer, splits.val)
    test_bits = bits_per_char(model, tokenizer, splits.test)
    record = {
        "command": public_command(__name__, args.argv),
        "train_seconds": round(history.seconds, 1),
        "tokens_per_second": round(history.tokens_per_second),
        "threads": torch.get_num_threads(),
        "steps": len(history.train_loss),
        "val_bits_per_char": round(val_bits, 4),
        "test_bits_per_char": round(test_bits, 4),
        "train_config": asdict(recipe),
        "curve": {"steps": history.val_steps, "val_bits": [round(v, 4) for v in history.val_bits],
                  "seconds": [round(s, 1) for s in history.val_seconds]},
    }
    save_checkpoint(args.out, model, tokenizer, record)
    print(json.dumps({k: v for k, v in record.items() if k != "curve"}, indent=1))
    return 0


def live_recipe(vocab_size: int, max_seconds: float | None = 40) -> tuple[GPTConfig, TrainConfig]:
    """Chapter 05's live-training recipe: a 2-layer, 64-wide GPT on 64-character windows with
    a high learning rate, which gets well below 1.9 nats (2.74 bits) per character within
    a minute on two CPU cores. Returns ``(model config, training config)``."""
    model = GPTConfig(vocab_size=vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64,
                      dropout=0.0)
    training = TrainConfig(steps=1500, batch_size=32, lr=6e-3, warmup_steps=50, eval_every=150,
                           max_seconds=max_seconds)
    return model, training


def _time_to(history: TrainHistory, nats: float) -> str:
    seconds = history.seconds_to_reach(nats / LN2)
    return f"{seconds:6.1f} s" if seconds is not None else "   not reached"


def _benchmark_command(args: argparse.Namespace) -> int:
    """Throughput and time-to-loss of the course's recipes, and the committed checkpoint."""
    from course_utils.core.environment import setup
    from course_utils.data import load_text_splits

    env = setup(seed=0, threads=args.threads, quiet=True)
    splits = load_text_splits()
    tokenizer = CharTokenizer(splits.alphabet)
    print(f"machine: {os.cpu_count()} CPUs, {env.threads} torch threads; training text "
          f"{len(splits.train):,} characters; validation scored on its first 20,000")
    live_config, live_training = live_recipe(tokenizer.vocab_size, max_seconds=None)
    live_training = TrainConfig(**{**asdict(live_training), "eval_every": args.eval_every})
    big_config = GPTConfig(vocab_size=tokenizer.vocab_size, dropout=CHECKPOINT_DROPOUT)
    big_training = TrainConfig(steps=args.big_steps, eval_every=args.eval_every)
    runs = [("live recipe (chapter 05)", live_config, live_training),
            ("checkpoint recipe, first steps", big_config, big_training)]
    for name, config, training in runs:
        torch.manual_seed(0)
        model = TinyGPT(config)
        history = train_gpt(model, tokenizer, splits.train, splits.val, training,
                            show_progress=False)
        print(f"\n{name}: {model.num_parameters():,} parameters, {config.n_layer} layers x "
              f"{config.n_embd} wide, context {config.block_size}, batch {training.batch_size}")
        print(f"  throughput {history.tokens_per_second:,.0f} characters/s "
              f"({history.seconds / len(history.train_loss) * 1000:.0f} ms/step)")
        print(f"  time to 2.5 nats/char {_time_to(history, 2.5)} | to 1.9 nats "
              f"{_time_to(history, 1.9)} | to 1.6 nats {_time_to(history, 1.6)}")
        print(f"  after {len(history.train_loss)} steps ({history.seconds:.1f} s): val "
              f"{history.val_bits[-1]:.3f} bits/char ({history.val_bits[-1] * LN2:.3f} nats)")
    try:
        pretrained, tok, record = load_pretrained_tiny_gpt()
    except FileNotFoundError:
        print("\ncommitted checkpoint: missing")
        return 0
    print(f"\ncommitted checkpoint: val {bits_per_char(pretrained, tok, splits.val):.3f}, "
          f"test {bits_per_char(pretrained, tok, splits.test):.3f} bits/char (whole texts); "
          f"trained {record.get('train_seconds')} s on {record.get('threads')} thread(s) with:\n"
          f"  {record.get('command')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", prog="python -m course_utils.train tiny-gpt", help="train the tiny GPT and save a checkpoint")
    train.add_argument("--out", default=CHECKPOINT_NAME)
    defaults = GPTConfig(vocab_size=1)
    for name in ("block_size", "n_layer", "n_head", "n_embd"):
        train.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    train.add_argument("--dropout", type=float, default=CHECKPOINT_DROPOUT)
    recipe = TrainConfig()
    for name in ("steps", "batch_size", "eval_every"):
        train.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(recipe, name))
    train.add_argument("--lr", type=float, default=recipe.lr)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    bench = sub.add_parser("benchmark", prog="python -m course_utils.bench tiny-gpt", help="measure training speed and time to loss")
    bench.add_argument("--big-steps", type=int, default=500,
                       help="steps of the checkpoint recipe to time (default 500)")
    bench.add_argument("--eval-every", type=int, default=50)
    bench.add_argument("--threads", type=int, default=None)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # recorded in the checkpoint as the exact command
    return _train_command(args) if args.command == "train" else _benchmark_command(args)

