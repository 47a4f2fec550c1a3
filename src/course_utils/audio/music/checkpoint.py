"""The committed model: the chapter's data (:class:`MusicData`, :func:`load_music_data`), saving
and loading the music GPT checkpoint, and its training recipe (:func:`train`, run by
``python -m course_utils.train music-gpt``)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.audio.music.corpus import (
    CORPUS_FILE,
    MusicSplits,
    load_corpus,
    split_corpus,
    transpose_to_common_key,
)
from course_utils.audio.music.generators import text_bits
from course_utils.audio.music.melody import STYLES, Note, _check_style
from course_utils.audio.music.tokens import MusicTokenizer

#: The package as ``course_utils.train``'s recipe names it (for the training record's command).
PACKAGE = "course_utils.audio.music"
CHECKPOINT_NAME = "music_gpt.safetensors"
#: The held-out sizes of the split every model of the chapter uses (melodies per style).
SPLIT = {"val": {"chorale": 20, "folk": 40}, "test": {"chorale": 40, "folk": 80}}


@dataclass(frozen=True)
class MusicData:
    """Everything the chapter's models are trained and scored on."""

    splits: MusicSplits
    tokenizer: MusicTokenizer

    def text(self, part: str, style: str | None = None, shuffle_seed: int | None = None
             ) -> str:
        """The encoded tunes of one split (``"train"``, ``"val"``, ``"test"``), optionally of
        one style and in a shuffled order."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be 'train', 'val' or 'test', got {part!r}.")
        melodies = [m for m in getattr(self.splits, part) if style in (None, m.style)]
        if style is not None:
            _check_style(style)
        if shuffle_seed is not None:
            order = np.random.default_rng(shuffle_seed).permutation(len(melodies))
            melodies = [melodies[i] for i in order]
        return self.tokenizer.encode_corpus(melodies)


def load_music_data(path: str | Path = CORPUS_FILE) -> MusicData:
    """The corpus moved to C major / A minor, split by tune family (:data:`SPLIT`, seed 0),
    and a tokenizer over all its note events."""
    melodies = transpose_to_common_key(load_corpus(path=path))
    splits = split_corpus(melodies, SPLIT["val"], SPLIT["test"], seed=0)
    return MusicData(splits, MusicTokenizer(melodies))


def save_music_gpt(path: str | Path, model: Any, tokenizer: MusicTokenizer,
                   record: dict | None = None) -> Path:
    """Weights, config, vocabulary and training record in one safetensors file."""
    from course_utils.core.checkpoints import write_checkpoint

    events = [[n.pitch, n.duration] for n in tokenizer.events]
    return write_checkpoint(path, model, {"config": model.config.to_json(),
                                          "events": json.dumps(events),
                                          "record": record or {}})


def load_music_gpt(path: str | Path | None = None) -> tuple[Any, MusicTokenizer, dict]:
    """The committed music GPT: ``(model in eval mode, tokenizer, training record)``."""
    from safetensors.torch import load_model

    from course_utils.core.checkpoints import CHECKPOINT_DIR, read_checkpoint, train_command
    from course_utils.text.transformer import GPTConfig, TinyGPT

    path = Path(path) if path is not None else CHECKPOINT_DIR / CHECKPOINT_NAME
    _, metadata = read_checkpoint(path, "music-GPT", train_command("music-gpt"),
                                  required=("config", "events"))
    tokenizer = MusicTokenizer(events=[Note(p, d) for p, d in json.loads(metadata["events"])])
    model = TinyGPT(GPTConfig.from_json(metadata["config"]))
    load_model(model, str(path))
    model.eval()
    return model, tokenizer, json.loads(metadata.get("record", "{}"))


def train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Train the music GPT with the options parsed by :func:`course_utils.audio.music.cli.main`
    (``argv``: those options as given, for the training record) and save it to ``args.out``."""
    import torch

    from course_utils.core.environment import setup
    from course_utils.text.gpt_training import TrainConfig, train_gpt
    from course_utils.text.transformer import GPTConfig, TinyGPT
    from course_utils.train import public_command

    setup(seed=args.seed, threads=args.threads, quiet=True)
    data = load_music_data()
    train_text = data.text("train", shuffle_seed=args.seed)
    val_text = data.text("val", shuffle_seed=0)
    model = TinyGPT(GPTConfig(vocab_size=data.tokenizer.vocab_size, block_size=args.block_size,
                              n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                              dropout=args.dropout))
    recipe = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         warmup_steps=min(100, args.steps // 10), eval_every=args.eval_every,
                         eval_chars=len(val_text), seed=args.seed)
    print(f"{model.num_parameters():,} parameters; {len(train_text):,} training symbols",
          flush=True)
    start = time.perf_counter()
    history = train_gpt(model, data.tokenizer.ids, train_text, val_text, recipe,
                        show_progress=not args.quiet,
                        on_eval=lambda h: print(f"step {h.val_steps[-1]:5d} "
                                                f"{h.val_seconds[-1]:7.1f} s  val "
                                                f"{h.val_bits[-1]:.3f} bits/symbol",
                                                flush=True))
    test_bits = {style: round(float(text_bits(model, data.tokenizer,
                                              data.text("test", style)).mean()), 4)
                 for style in STYLES}
    record = {"command": public_command(PACKAGE, argv),
              "train_seconds": round(time.perf_counter() - start, 1),
              "threads": torch.get_num_threads(), "steps": len(history.train_loss),
              "train_symbols": len(train_text),
              "val_bits": round(history.val_bits[-1], 4), "test_bits": test_bits,
              "curve": {"steps": history.val_steps,
                        "val_bits": [round(v, 4) for v in history.val_bits]}}
    save_music_gpt(args.out, model, data.tokenizer, record)
    print(json.dumps({k: v for k, v in record.items() if k != "curve"}, indent=1))
    return 0
