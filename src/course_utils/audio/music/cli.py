"""The command line: ``python -m course_utils.audio.music extract`` writes the corpus file;
``train`` trains the committed music GPT (also run as ``python -m course_utils.train
music-gpt``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from course_utils.audio.music.checkpoint import CHECKPOINT_NAME
from course_utils.audio.music.checkpoint import train as train_music_gpt
from course_utils.audio.music.corpus import CORPUS_FILE, extract_corpus

def main(argv: Sequence[str] | None = None) -> int:
    """``extract``: write the corpus file; ``train``: train the committed music GPT."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m course_utils.audio.music")
    sub = parser.add_subparsers(dest="command", required=True)
    extract = sub.add_parser("extract", help="parse the music21 corpus into CORPUS_FILE")
    extract.add_argument("--out", default=str(CORPUS_FILE))
    extract.add_argument("--quiet", action="store_true")
    from course_utils.core.checkpoints import CHECKPOINT_DIR

    train = sub.add_parser("train", help="train the committed music GPT")
    train.add_argument("--out", default=str(CHECKPOINT_DIR / CHECKPOINT_NAME))
    train.add_argument("--steps", type=int, default=2500)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--block-size", type=int, default=128)
    train.add_argument("--n-layer", type=int, default=3)
    train.add_argument("--n-head", type=int, default=4)
    train.add_argument("--n-embd", type=int, default=96)
    train.add_argument("--dropout", type=float, default=0.15)
    train.add_argument("--eval-every", type=int, default=250)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "extract":
        print(json.dumps(extract_corpus(args.out, show_progress=not args.quiet), indent=1))
        return 0
    return train_music_gpt(args, argv)
