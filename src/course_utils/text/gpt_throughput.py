"""Training throughput of the tiny GPT beside a reference GPT of the same shape.

    python -m course_utils.bench gpt-throughput [--steps 40] [--threads N] [--profile]

The reference is Hugging Face ``transformers``' ``GPT2LMHeadModel`` configured to the tiny
GPT's width, depth, heads, context and vocabulary (its attention both ``"eager"``, the explicit
softmax(QK^T)V, and ``"sdpa"``, PyTorch's fused kernel). Every model trains on the same random
windows of the course corpus with the same AdamW settings; each shape is timed after a few
warm-up steps, and the result is characters (tokens) per second of training:
``B * T * steps / seconds``. ``--profile`` adds the operators where the tiny GPT spends its time.

Results belong in measured tables (the closing notes, the setup page), not in timed tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.text.gpt_training import encode_text, random_windows
from course_utils.text.transformer import CharTokenizer, GPTConfig, TinyGPT

#: (context T, batch B) pairs timed by default: the checkpoint recipe's shape and a smaller one.
SHAPES = ((128, 32), (64, 12))
WARMUP_STEPS = 5


def reference_gpt2(config: GPTConfig, attention: str = "sdpa") -> torch.nn.Module:
    """``transformers.GPT2LMHeadModel`` with the shape of ``config`` (same V, T, layers, C, heads,
    dropout), for a side-by-side timing. ``attention``: ``"eager"`` or ``"sdpa"``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    hf = GPT2Config(vocab_size=config.vocab_size, n_positions=config.block_size,
                    n_embd=config.n_embd, n_layer=config.n_layer, n_head=config.n_head,
                    resid_pdrop=config.dropout, embd_pdrop=config.dropout,
                    attn_pdrop=config.dropout, bos_token_id=0, eos_token_id=0)
    hf._attn_implementation = attention  # what from_pretrained(..., attn_implementation=) sets
    return GPT2LMHeadModel(hf)


def _logits_fn(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(model, TinyGPT):
        return model
    return lambda x: model(input_ids=x).logits


def time_training(model: torch.nn.Module, ids: torch.Tensor, block_size: int, batch_size: int,
                  steps: int, seed: int = 0) -> float:
    """Characters per second of ``steps`` AdamW training steps on random windows (B, T) of
    ``ids``, after :data:`WARMUP_STEPS` untimed ones."""
    forward = _logits_fn(model)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(seed)
    model.train()
    clock = 0.0
    for step in range(WARMUP_STEPS + steps):
        x, y = random_windows(ids, block_size, batch_size, generator)
        start = time.perf_counter()
        logits = forward(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if step >= WARMUP_STEPS:
            clock += time.perf_counter() - start
    return batch_size * block_size * steps / clock


def profile_tiny_gpt(model: TinyGPT, ids: torch.Tensor, block_size: int, batch_size: int,
                     steps: int = 10, rows: int = 12) -> str:
    """The operators that take the most CPU time in ``steps`` training steps, as a table."""
    from torch.profiler import ProfilerActivity, profile

    time_training(model, ids, block_size, batch_size, steps=1)  # warm up outside the profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        time_training(model, ids, block_size, batch_size, steps=steps)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench gpt-throughput",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per model and shape")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.steps < 1:
        parser.error("--steps must be at least 1")

    from course_utils.core.environment import setup
    from course_utils.data import load_text_splits

    env = setup(seed=0, threads=args.threads, quiet=True)
    splits = load_text_splits()
    tokenizer = CharTokenizer(splits.alphabet)
    ids = encode_text(tokenizer, splits.train)
    print(f"machine: {os.cpu_count()} CPUs, {env.threads} torch threads, torch "
          f"{torch.__version__}; {args.steps} timed steps per row, AdamW, dropout "
          f"{args.dropout}")
    print(f"{'context x batch':>16} | {'model':<34} | {'parameters':>10} | {'chars/s':>8}")
    for block_size, batch_size in SHAPES:
        config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size,
                           dropout=args.dropout)
        models = {"course TinyGPT (fused attention)": lambda: TinyGPT(config),
                  "transformers GPT-2, sdpa attention": lambda: reference_gpt2(config, "sdpa"),
                  "transformers GPT-2, eager attention": lambda: reference_gpt2(config, "eager")}
        for name, build in models.items():
            torch.manual_seed(0)
            model = build()
            rate = time_training(model, ids, block_size, batch_size, args.steps)
            n_params = sum(p.numel() for p in model.parameters())
            print(f"{f'{block_size} x {batch_size}':>16} | {name:<34} | {n_params:>10,} | "
                  f"{rate:>8,.0f}")
    if args.profile:
        block_size, batch_size = SHAPES[0]
        torch.manual_seed(0)
        model = TinyGPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size,
                                  dropout=args.dropout))
        print(f"\nwhere the tiny GPT's time goes ({block_size} x {batch_size}, 10 steps):")
        print(profile_tiny_gpt(model, ids, block_size, batch_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
