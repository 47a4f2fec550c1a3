r"""Fine-tuning SmolLM2 with LoRA on a task the course generates itself (chapter 14).

**The task: date normalisation.** A date written in one of :data:`FORMATS` ("March 5th, 2021",
"05/03/2021 (day first)", "the fifth of March 2021", ...) must be answered with exactly its ISO
8601 form, ``2021-03-05``. :func:`make_examples` draws as many examples as wanted from a seeded
generator; :func:`heldout_examples` is the fixed evaluation set, whose dates never appear in
training (:func:`training_examples` skips them).

**LoRA** (Hu et al. 2022) freezes every pretrained weight matrix :math:`W \in \mathbb{R}^{d
\times k}` and learns a low-rank change for some of them:

.. math::  h = W x + \frac{\alpha}{r} B A x, \qquad A \in \mathbb{R}^{r \times k},\;
           B \in \mathbb{R}^{d \times r},\; r \ll \min(d, k)

:math:`A` starts random and :math:`B` at zero, so training starts from the unchanged model.
:func:`add_lora` wraps a model with ``peft``; :func:`train_lora` trains only the answer tokens
(the prompt is masked out of the loss); :func:`evaluate` scores a set of examples in batched
forward passes, without generating; :func:`save_adapter` / :func:`load_adapter` store the
adapter alone with ``safetensors`` (no pickle), its settings and training record in the file's
metadata.

**Teacher-forced exact match.** Greedy decoding writes the answer ``y_1 ... y_L`` (then the
end-of-turn token) if and only if every one of those tokens is the argmax of the model's
distribution given the prompt and the tokens before it. One forward pass over prompt + answer
gives all ``L + 1`` distributions at once, so :func:`evaluate` measures what greedy decoding would
produce for a whole batch of examples without running a decoding loop (a unit test checks it
against :func:`generate_answer`).

The committed adapter is produced by this module's command line (the exact command is stored in
the adapter's metadata and shown in chapter 14; the other flags repeat the defaults)::

    python -m course_utils.train date-lora --out src/course_utils/checkpoints/date_lora.safetensors \
        --threads 1 --quiet

(400 steps of 8 examples, LoRA r = 8 on the query and value projections, 460,800 parameters;
38 minutes on one thread of a busy 2-core machine; held-out exact match 6.7 % -> 99.2 %)

and :func:`load_pretrained_adapter` loads it onto a fresh model from
:func:`course_utils.llm.smollm2.load_hf_model`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_utils.core.checkpoints import (
    CHECKPOINT_DIR,
    read_checkpoint,
    train_command,
    write_checkpoint,
)
from course_utils.core.progress import progress, progress_enabled
from course_utils.core.validation import check_int, check_text
from course_utils.train import public_command

ADAPTER_NAME = "date_lora.safetensors"
INSTRUCTION = "Write this date in ISO format (YYYY-MM-DD). Reply with the date only."
MAX_INPUT_CHARS = 80  # longest date text accepted by the helpers and the widget
YEARS = (1950, 2049)  # training and held-out dates fall in these years (inclusive)
HELDOUT_SEED = 2024  # seed of the fixed held-out set
HELDOUT_SIZE = 120  # examples in the fixed held-out set (12 per format)
IGNORE = -100  # label of a position that is not trained on (prompt, padding)

# --- the task --------------------------------------------------------------------------------

# Written out, not taken from ``calendar`` (whose names follow the machine's locale).
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
MONTH_ABBR = [m[:3] for m in MONTHS]  # "Jan" ... "Dec"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
            "Sunday"]  # date.weekday() order
ORDINAL_WORDS = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second",
    "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh",
    "twenty-eighth", "twenty-ninth", "thirtieth", "thirty-first"]


def ordinal_suffix(day: int) -> str:
    """``1 -> "1st"``, ``2 -> "2nd"``, ``11 -> "11th"``, ``23 -> "23rd"``."""
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


#: The written forms of a date the model is trained on: name -> formatter. The names are the
#: rows of the per-format tables in chapter 14.
FORMATS: dict[str, Callable[[dt.date], str]] = {
    "March 5, 2021": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "March 5th, 2021": lambda d: f"{MONTHS[d.month - 1]} {ordinal_suffix(d.day)}, {d.year}",
    "5 March 2021": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "Mar 5 2021": lambda d: f"{MONTH_ABBR[d.month - 1]} {d.day} {d.year}",
    "05-Mar-2021": lambda d: f"{d.day:02d}-{MONTH_ABBR[d.month - 1]}-{d.year}",
    "the fifth of March 2021": lambda d: (f"the {ORDINAL_WORDS[d.day - 1]} of "
                                          f"{MONTHS[d.month - 1]} {d.year}"),
    "Friday, March 5, 2021": lambda d: (f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} "
                                        f"{d.day}, {d.year}"),
    "2021/03/05": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "05/03/2021 (day first)": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year} (day first)",
    "03/05/2021 (month first)": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year} (month first)",
}


@dataclass(frozen=True)
class DateExample:
    """One example of the task: the written date, its ISO answer, and the format's name."""

    text: str  # e.g. "the fifth of March 2021"
    answer: str  # e.g. "2021-03-05"
    format: str  # a key of FORMATS (or a label for inputs outside them)


def random_date(rng: np.random.Generator, years: tuple[int, int] = YEARS) -> dt.date:
    """A uniformly random day between 1 January of ``years[0]`` and 31 December of
    ``years[1]``."""
    first, last = dt.date(years[0], 1, 1), dt.date(years[1], 12, 31)
    return first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))


def make_examples(n: int, seed: int, formats: Sequence[str] | None = None,
                  exclude: frozenset[dt.date] = frozenset(),
                  years: tuple[int, int] = YEARS) -> list[DateExample]:
    """``n`` examples with random dates, the formats taken in turn (balanced), seeded.

    Args:
        n: number of examples.
        seed: seed of the ``numpy`` generator (same seed, same examples).
        formats: names from :data:`FORMATS` (default: all of them).
        exclude: dates never to use (the held-out dates, when drawing training data).
        years: inclusive range of years.

    Raises:
        ValueError: bad ``n``, unknown format names or an empty year range.
    """
    check_int("n", n, low=1, high=10_000_000)
    names = list(FORMATS) if formats is None else list(formats)
    unknown = [name for name in names if name not in FORMATS]
    if not names or unknown:
        raise ValueError(f"Unknown format(s) {unknown}; choose from {list(FORMATS)}.")
    check_int("first year", years[0], low=1, high=9999)
    check_int("last year", years[1], low=years[0], high=9999)
    rng = np.random.default_rng(seed)
    examples: list[DateExample] = []
    while len(examples) < n:
        date = random_date(rng, years)
        if date in exclude:
            continue
        name = names[len(examples) % len(names)]
        examples.append(DateExample(FORMATS[name](date), date.isoformat(), name))
    return examples


def heldout_examples() -> list[DateExample]:
    """The fixed held-out set: :data:`HELDOUT_SIZE` examples, every format equally often."""
    return make_examples(HELDOUT_SIZE, seed=HELDOUT_SEED)


@lru_cache(maxsize=1)
def heldout_dates() -> frozenset[dt.date]:
    """The dates of :func:`heldout_examples` (training never sees them, in any format)."""
    return frozenset(dt.date.fromisoformat(e.answer) for e in heldout_examples())


def training_examples(n: int, seed: int) -> list[DateExample]:
    """``n`` training examples, none of them on a held-out date; the formats are taken in a
    seeded random order (so that a batch smaller than the number of formats still sees every
    format equally often over many batches)."""
    order = np.random.default_rng(seed).permutation(len(FORMATS))
    names = list(FORMATS)
    return make_examples(n, seed=seed, formats=[names[i] for i in order],
                         exclude=heldout_dates())


def check_date_text(text: object) -> str:
    """The input of the task, checked: non-empty text on one line, at most
    :data:`MAX_INPUT_CHARS` characters. Returns it stripped."""
    if not isinstance(text, str):
        raise ValueError(f"The date must be text, got {type(text).__name__}.")
    text = text.strip()
    check_text("The date", text, max_length=MAX_INPUT_CHARS)
    if "\n" in text or "<|" in text:
        raise ValueError("The date must be one line of plain text (no line breaks or chat "
                         "markers such as <|im_end|>).")
    return text


def task_prompt(text: str, shots: Sequence[DateExample] = ()) -> str:
    """The chat prompt for one date: the instruction and the date as a user turn (no system
    turn: shorter, so training and evaluation are faster), ready for the assistant's answer.

    ``shots``: worked examples put first, each as a user turn (instruction and date) and the
    assistant's answer - a few-shot prompt, the baseline with the same examples as a
    fine-tune that would train on them.
    """
    from course_utils.llm.smollm2 import chat_prompt

    turns = []
    for shot in shots:
        turns += [{"role": "user", "content": f"{INSTRUCTION}\n{check_date_text(shot.text)}"},
                  {"role": "assistant", "content": shot.answer}]
    turns.append({"role": "user", "content": f"{INSTRUCTION}\n{check_date_text(text)}"})
    return chat_prompt(turns, system=None)


def few_shot_examples(seed: int = 0) -> list[DateExample]:
    """One training example per date form (never a held-out date), in the order of
    :data:`FORMATS`: the worked examples of a few-shot prompt."""
    return make_examples(len(FORMATS), seed=seed, exclude=heldout_dates())


# --- batches ---------------------------------------------------------------------------------

@dataclass
class Batch:
    """Examples as token ids: one shared prompt prefix, then each example's own tokens.

    Every prompt starts with the same tokens (the chat marker and the instruction), so they are
    kept once, in ``prefix_ids``, and run once per forward pass (:func:`answer_logits`). The rest
    of each example - its date, the end of the prompt, the answer and the end-of-turn token - is
    padded on the right. ``labels[b, s] = input_ids[b, s]`` on the answer tokens (the ISO date
    and the end-of-turn token) and :data:`IGNORE` elsewhere (prompt, padding).
    """

    prefix_ids: torch.Tensor  # (P,) int64, shared by every example
    input_ids: torch.Tensor  # (B, S) int64, each example after the prefix
    attention_mask: torch.Tensor  # (B, S) int64, 1 on real tokens, 0 on padding
    labels: torch.Tensor  # (B, S) int64

    @property
    def answer_tokens(self) -> int:
        return int((self.labels != IGNORE).sum())

    def full_ids(self, b: int) -> list[int]:
        """Example ``b`` as one token list, prefix included and padding removed."""
        n = int(self.attention_mask[b].sum())
        return self.prefix_ids.tolist() + self.input_ids[b, :n].tolist()


def prompt_prefix(shots: Sequence[DateExample] = ()) -> str:
    """The text every task prompt starts with (worked examples, chat marker, instruction)."""
    marker = "@@DATE@@"
    return task_prompt(marker, shots).split(marker)[0]


def encode_examples(tokenizer, examples: Sequence[DateExample],
                    shots: Sequence[DateExample] = ()) -> Batch:
    """Tokenize prompt and answer separately (so the prompt's tokens are exactly those the model
    sees at generation time), append the end-of-turn token, split off the shared prefix."""
    if not examples:
        raise ValueError("No examples to encode.")
    eot = tokenizer.convert_tokens_to_ids("<|im_end|>")
    prefix = tokenizer(prompt_prefix(shots), add_special_tokens=False).input_ids
    P = len(prefix)
    rows, answers = [], []
    for example in examples:
        prompt = tokenizer(task_prompt(example.text, shots), add_special_tokens=False).input_ids
        if prompt[:P] != prefix:  # the date's first token merged with the instruction's end
            raise ValueError(f"Could not split the prompt of {example.text!r} after the "
                             "instruction.")
        answer = tokenizer(example.answer, add_special_tokens=False).input_ids + [eot]
        rows.append(prompt[P:] + answer)
        answers.append(len(answer))
    S = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), S), eot, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), S), dtype=torch.long)
    labels = torch.full((len(rows), S), IGNORE, dtype=torch.long)
    for b, (row, n_answer) in enumerate(zip(rows, answers)):
        input_ids[b, :len(row)] = torch.tensor(row)
        attention_mask[b, :len(row)] = 1
        labels[b, len(row) - n_answer:len(row)] = torch.tensor(row[-n_answer:])
    return Batch(torch.tensor(prefix, dtype=torch.long), input_ids, attention_mask, labels)


def _causal_lm(model):
    """The ``LlamaForCausalLM`` inside a ``peft`` wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def answer_logits(model, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits at the positions that predict answer tokens, and nowhere else.

    Two savings over one plain forward pass of the whole (B, P + S) batch, with the same result
    (a unit test checks it):

    1. **Shared prefix.** The P prefix tokens run once, as a batch of one; their keys and values
       (the KV cache of chapter 06) are repeated for the B examples, whose S tokens then attend
       to them. About half of each prompt is prefix, so this halves the work. Gradients flow
       through the cache: LoRA on the value projection changes the prefix's values too.
    2. **Output layer where needed.** The 49 152-way output layer runs only at the positions
       that predict an answer token (11 per example), not at all P + S.

    Returns:
        ``(logits (N, V), targets (N,), rows (N,))``: one row per answer token in the batch,
        the logits predicting it, the token, and the example it belongs to.
    """
    lm = _causal_lm(model)
    B, S = batch.input_ids.shape
    P = len(batch.prefix_ids)
    prefix = lm.model(input_ids=batch.prefix_ids[None], use_cache=True)  # (1, P, C)
    cache = prefix.cache
    cache.batch_repeat_interleave(B)  # keys and values (1, h, P, d) -> (B, h, P, d)
    mask = torch.cat([torch.ones(B, P, dtype=torch.long), batch.attention_mask], dim=1)
    positions = torch.arange(P, P + S)[None].expand(B, S)  # (B, S)
    hidden = lm.model(input_ids=batch.input_ids, attention_mask=mask, position_ids=positions,
                      cache=cache, use_cache=True).last_hidden_state  # (B, S, C)
    predicts = batch.labels[:, 1:] != IGNORE  # (B, S-1): position s predicts token s+1
    logits = lm.lm_head(hidden[:, :-1][predicts])  # (N, C) -> (N, V)
    targets = batch.labels[:, 1:][predicts]  # (N,)
    rows = torch.arange(B)[:, None].expand_as(predicts)[predicts]  # (N,)
    return logits, targets, rows


# --- LoRA --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoraSettings:
    """Where the low-rank updates go and how big they are."""

    r: int = 8  # rank of B A (the update's rank); trainable parameters grow linearly with it
    alpha: float = 16.0  # the update is scaled by alpha / r
    dropout: float = 0.0  # dropout on the LoRA branch's input during training
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")  # Linear layers that get B A

    def __post_init__(self) -> None:
        check_int("r", self.r, low=1, high=512)
        if not (isinstance(self.alpha, (int, float)) and self.alpha > 0):
            raise ValueError(f"alpha must be a positive number, got {self.alpha!r}.")
        if not (0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}.")
        allowed = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
        if not self.target_modules or set(self.target_modules) - allowed:
            raise ValueError(f"target_modules must be a non-empty subset of {sorted(allowed)}, "
                             f"got {self.target_modules!r}.")

    @property
    def scale(self) -> float:
        """The factor alpha / r in front of B A."""
        return self.alpha / self.r


def add_lora(model, settings: LoraSettings = LoraSettings(), seed: int = 0):
    """Freeze ``model`` and wrap it with trainable LoRA layers (``peft``).

    ``A`` is drawn from a seeded generator and ``B`` is zero: the wrapped model starts out
    computing exactly what ``model`` did. ``with wrapped.disable_adapter(): ...`` runs the
    original model.

    Returns:
        The ``peft.PeftModel`` (it shares its frozen weights with ``model``).
    """
    from peft import LoraConfig, get_peft_model

    if hasattr(model, "peft_config"):
        raise ValueError("This model already has LoRA layers; start from a fresh model "
                         "(smollm2.load_hf_model() returns a new one on every call).")
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=list(settings.target_modules), bias="none",
                        task_type="CAUSAL_LM")
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # a transformers deprecation inside peft
        torch.manual_seed(seed)
        wrapped = get_peft_model(model, config)
    wrapped.eval()
    return wrapped


def count_parameters(model) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts (tied weights counted once)."""
    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total


def adapter_state(model) -> dict[str, torch.Tensor]:
    """The LoRA tensors only (``lora_A`` and ``lora_B`` of every wrapped layer)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(model).items()}


# --- training ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainSettings:
    """The fine-tuning recipe. Defaults are the committed adapter's recipe."""

    steps: int = 400  # optimiser steps at most
    batch_size: int = 8  # B: examples per step (fresh examples every step: data is unlimited)
    lr: float = 2e-3  # learning rate of AdamW, reached after the warm-up, then constant
    warmup_steps: int = 5  # linear warm-up from lr / warmup_steps to lr
    weight_decay: float = 0.0  # AdamW decoupled decay on the LoRA matrices
    grad_clip: float = 1.0  # clip the global gradient norm to this value
    max_seconds: float | None = None  # stop after this much training time (live runs)
    seed: int = 0  # seeds the stream of training examples (add_lora seeds the initial A)

    def __post_init__(self) -> None:
        check_int("steps", self.steps, low=1, high=1_000_000)
        check_int("batch_size", self.batch_size, low=1, high=4096)
        check_int("warmup_steps", self.warmup_steps, low=0)
        check_int("seed", self.seed, low=0)
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ValueError(f"lr must be in (0, 1), got {self.lr!r}.")
        if self.weight_decay < 0 or self.grad_clip <= 0:
            raise ValueError("weight_decay must be >= 0 and grad_clip > 0.")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be positive (or None), got {self.max_seconds!r}.")

    def learning_rate(self, step: int) -> float:
        """Learning rate at ``step`` (0-based): linear warm-up, then constant. A constant rate
        suits a run cut short by ``max_seconds``: no schedule to fall out of step with."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        return self.lr


@dataclass
class TrainHistory:
    """What happened during training (losses in nats per answer token)."""

    loss: list[float] = field(default_factory=list)  # training loss, one per step
    seconds: list[float] = field(default_factory=list)  # training time after each step
    examples_seen: int = 0

    @property
    def steps(self) -> int:
        return len(self.loss)

    @property
    def total_seconds(self) -> float:
        return self.seconds[-1] if self.seconds else 0.0


def train_lora(model, tokenizer, settings: TrainSettings = TrainSettings(),
               on_step: Callable[[TrainHistory], None] | None = None,
               show_progress: bool = True) -> TrainHistory:
    """Train the LoRA layers of ``model`` (from :func:`add_lora`) on fresh task examples.

    Each step draws ``B`` new training examples, and minimises the mean cross-entropy of the
    answer tokens given the prompt and the answer so far,
    ``-(1/N) sum_{answer tokens} log p(y_t | prompt, y_<t)``; prompt tokens are not trained on.

    Args:
        model: a ``peft`` model; only its trainable (LoRA) parameters change.
        tokenizer: SmolLM2's tokenizer.
        settings: the recipe (``max_seconds`` ends the run early, after a whole step).
        on_step: called with the history after every step (e.g. to log or plot).
        show_progress: draw a progress bar.

    Returns:
        The :class:`TrainHistory`.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not hasattr(model, "peft_config") or not params:
        raise ValueError("train_lora needs a model wrapped by add_lora() (trainable LoRA "
                         "layers); the base model's weights stay frozen.")
    optimiser = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    rng_seed = settings.seed * 1_000_003 + 1  # step i draws its examples with seed rng_seed + i
    history = TrainHistory()
    bar = tqdm(total=settings.steps, desc="LoRA training", unit="step", mininterval=0.5,
               disable=not (show_progress and progress_enabled()))
    model.train()
    start = time.perf_counter()
    try:
        for step in range(settings.steps):
            examples = training_examples(settings.batch_size, seed=rng_seed + step)
            batch = encode_examples(tokenizer, examples)
            for group in optimiser.param_groups:
                group["lr"] = settings.learning_rate(step)
            logits, targets, _ = answer_logits(model, batch)  # (N, V), (N,)
            loss = F.cross_entropy(logits, targets)  # mean over the N answer tokens
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
            optimiser.step()
            history.loss.append(loss.item())
            history.seconds.append(time.perf_counter() - start)
            history.examples_seen += len(examples)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            bar.update(1)
            if on_step is not None:
                on_step(history)
            if settings.max_seconds is not None and history.total_seconds >= settings.max_seconds:
                break
    finally:
        model.eval()
        bar.close()
    return history


# --- evaluation ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """Scores on a set of examples.

    ``correct[i]`` is True when greedy decoding would write exactly example ``i``'s answer and
    then end its turn (teacher-forced exact match).
    """

    correct: np.ndarray  # (n,) bool
    loss: np.ndarray  # (n,) mean nats per answer token of each example
    examples: tuple[DateExample, ...]

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    @property
    def mean_loss(self) -> float:
        """Mean cross-entropy per answer token (nats) over all examples."""
        return float(self.loss.mean())

    def by_format(self) -> dict[str, float]:
        """Exact-match accuracy per format name."""
        names = [e.format for e in self.examples]
        return {name: float(self.correct[[n == name for n in names]].mean())
                for name in dict.fromkeys(names)}


@torch.no_grad()
def evaluate(model, tokenizer, examples: Sequence[DateExample], batch_size: int = 40,
             show_progress: bool = False, shots: Sequence[DateExample] = ()) -> Evaluation:
    """Teacher-forced exact match and loss of ``model`` on ``examples`` (no generation).

    Example ``i`` is correct iff ``argmax_v p(v | prompt, y_<t) = y_t`` at every answer position
    ``t`` (the end-of-turn token included): exactly the condition for greedy decoding to write
    the answer and stop.

    Args:
        model: a causal LM or a ``peft`` model.
        tokenizer: its tokenizer.
        examples: what to score.
        batch_size: examples per forward pass.
        show_progress: draw a progress bar.
        shots: worked examples put before each prompt (:func:`task_prompt`); none by default.
    """
    if not examples:
        raise ValueError("No examples to evaluate.")
    shown = {e.answer for e in shots} & {e.answer for e in examples}
    if shown:
        raise ValueError(f"Worked examples share dates with the evaluated ones: {sorted(shown)}")
    check_int("batch_size", batch_size, low=1, high=4096)
    was_training = model.training
    model.eval()
    correct, losses = [], []
    chunks = range(0, len(examples), batch_size)
    for i in (progress(chunks, "evaluating", unit="batch") if show_progress else chunks):
        batch = encode_examples(tokenizer, examples[i:i + batch_size], shots)
        logits, targets, rows = answer_logits(model, batch)
        nll = F.cross_entropy(logits, targets, reduction="none")  # (N,)
        wrong = (logits.argmax(dim=-1) != targets).float()  # (N,)
        n = len(batch.labels)
        errors = torch.zeros(n).index_add_(0, rows, wrong)  # (n,) wrong tokens per example
        counts = torch.zeros(n).index_add_(0, rows, torch.ones_like(nll))
        correct.append((errors == 0).numpy())
        losses.append((torch.zeros(n).index_add_(0, rows, nll) / counts).numpy())
    model.train(was_training)
    return Evaluation(np.concatenate(correct), np.concatenate(losses).astype(np.float64),
                      tuple(examples))


@torch.no_grad()
def generate_answers(model, tokenizer, texts: Sequence[str],
                     max_new_tokens: int = 24) -> list[str]:
    """Greedy answers of ``model`` to the task prompts for ``texts``, decoded as one batch.

    The prompts are padded on the left (so every prompt ends where its answer starts) and each
    answer stops at the end-of-turn token.

    Args:
        model: a causal LM or a ``peft`` model (inside ``disable_adapter()``: the base model).
        tokenizer: its tokenizer.
        texts: the date texts (each checked by :func:`check_date_text`).
        max_new_tokens: longest answer, in tokens.

    Returns:
        One answer per text, exactly as decoded (not stripped: a stray space is a mistake).
    """
    check_int("max_new_tokens", max_new_tokens, low=1, high=512)
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of date texts.")
    prompts = [tokenizer(task_prompt(t), add_special_tokens=False).input_ids for t in texts]
    eot = tokenizer.convert_tokens_to_ids("<|im_end|>")
    T = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), T), eot, dtype=torch.long)
    mask = torch.zeros((len(prompts), T), dtype=torch.long)
    for b, prompt in enumerate(prompts):
        ids[b, T - len(prompt):] = torch.tensor(prompt)
        mask[b, T - len(prompt):] = 1
    was_training = model.training
    model.eval()
    out = _causal_lm(model).generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                     max_new_tokens=max_new_tokens, eos_token_id=eot,
                                     pad_token_id=eot)  # (B, T + new)
    model.train(was_training)
    return [tokenizer.decode(row[T:], skip_special_tokens=True) for row in out]


def generate_answer(model, tokenizer, text: str, max_new_tokens: int = 24) -> str:
    """Greedy answer of ``model`` to the task prompt for one date text."""
    return generate_answers(model, tokenizer, [text], max_new_tokens)[0]


def is_iso_date(text: str) -> bool:
    """Whether ``text`` is exactly ``YYYY-MM-DD`` and a real calendar date."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # fromisoformat also takes "2021-W09-5"
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# --- saving and loading ------------------------------------------------------------------------

def save_adapter(path: str | Path, model, lora: LoraSettings, record: dict | None = None) -> Path:
    """Write the adapter alone (``lora_A``/``lora_B`` tensors) to a safetensors file, with the
    LoRA settings and a JSON training record (command, recipe, scores) as metadata."""
    return write_checkpoint(path, adapter_state(model), {
        "kind": "course_utils.llm.lora LoRA adapter", "lora": json.dumps(asdict(lora)),
        "record": record or {}})


def read_adapter(path: str | Path) -> tuple[dict[str, torch.Tensor], LoraSettings, dict]:
    """Read a file from :func:`save_adapter`: (tensors, LoRA settings, training record)."""
    tensors, metadata = read_checkpoint(path, "LoRA adapter", train_command("date-lora"),
                                        required=("lora",))
    settings = json.loads(metadata["lora"])
    settings["target_modules"] = tuple(settings["target_modules"])
    return tensors, LoraSettings(**settings), json.loads(metadata.get("record", "{}"))


def load_adapter(model, path: str | Path):
    """Wrap a fresh ``model`` with the adapter stored at ``path``.

    Returns:
        ``(peft model in eval mode, training record)``.

    Raises:
        ValueError: the file is not an adapter, or its tensors do not fit the model.
    """
    from peft import set_peft_model_state_dict

    tensors, settings, record = read_adapter(path)
    wrapped = add_lora(model, settings)
    expected = adapter_state(wrapped)
    if set(expected) != set(tensors) or any(expected[k].shape != tensors[k].shape
                                            for k in tensors):
        raise ValueError(f"The adapter in {path} does not fit this model (different layers or "
                         "shapes).")
    set_peft_model_state_dict(wrapped, tensors)
    wrapped.eval()
    return wrapped, record


def pretrained_adapter_path() -> Path:
    """Where the committed adapter lives inside the installed package."""
    return Path(str(CHECKPOINT_DIR / ADAPTER_NAME))


def load_pretrained_adapter(model=None):
    """The committed adapter on ``model`` (default: a fresh ``smollm2.load_hf_model()``).

    Returns:
        ``(peft model, tokenizer, training record)``.
    """
    from course_utils.llm import smollm2

    if model is None:
        model, tokenizer = smollm2.load_hf_model()
    else:
        tokenizer = smollm2.load_hf_tokenizer()
    wrapped, record = load_adapter(model, pretrained_adapter_path())
    return wrapped, tokenizer, record


# --- command line --------------------------------------------------------------------------------

def _train_command(args: argparse.Namespace) -> int:
    from course_utils.core.environment import setup
    from course_utils.llm import smollm2

    setup(seed=args.seed, threads=args.threads, quiet=True)
    lora = LoraSettings(r=args.r, alpha=args.alpha, target_modules=tuple(args.targets))
    recipe = TrainSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                           seed=args.seed, max_seconds=args.max_seconds)
    base, tokenizer = smollm2.load_hf_model()
    heldout = heldout_examples()
    before = evaluate(base, tokenizer, heldout)
    model = add_lora(base, lora, seed=args.seed)
    trainable, total = count_parameters(model)
    print(f"{trainable:,} trainable of {total:,} parameters; base model on the held-out set: "
          f"accuracy {before.accuracy:.3f}, loss {before.mean_loss:.3f}", flush=True)

    def log(history: TrainHistory) -> None:
        if history.steps % args.log_every == 0:
            recent = np.mean(history.loss[-args.log_every:])
            print(f"step {history.steps:5d}  {history.total_seconds:7.1f} s  train loss "
                  f"{recent:.4f}", flush=True)

    history = train_lora(model, tokenizer, recipe, on_step=log, show_progress=not args.quiet)
    after = evaluate(model, tokenizer, heldout)
    record = {
        "command": public_command(__name__, args.argv),
        "train_seconds": round(history.total_seconds, 1),
        "steps": history.steps,
        "examples_seen": history.examples_seen,
        "threads": torch.get_num_threads(),
        "train_settings": asdict(recipe),
        "heldout_size": len(heldout),
        "heldout_accuracy_before": round(before.accuracy, 4),
        "heldout_loss_before": round(before.mean_loss, 4),
        "heldout_accuracy": round(after.accuracy, 4),
        "heldout_loss": round(after.mean_loss, 4),
        "heldout_accuracy_by_format": {k: round(v, 4) for k, v in after.by_format().items()},
        "loss_curve": [round(float(np.mean(history.loss[i:i + 10])), 4)
                       for i in range(0, history.steps, 10)],
    }
    save_adapter(args.out, model, lora, record)
    print(json.dumps({k: v for k, v in record.items() if k != "loss_curve"}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.train",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", prog="python -m course_utils.train date-lora", help="train a LoRA adapter on the date task and save it")
    train.add_argument("--out", default=ADAPTER_NAME)
    lora, recipe = LoraSettings(), TrainSettings()
    train.add_argument("--r", type=int, default=lora.r)
    train.add_argument("--alpha", type=float, default=lora.alpha)
    train.add_argument("--targets", nargs="+", default=list(lora.target_modules))
    train.add_argument("--steps", type=int, default=recipe.steps)
    train.add_argument("--batch-size", type=int, default=recipe.batch_size)
    train.add_argument("--lr", type=float, default=recipe.lr)
    train.add_argument("--max-seconds", type=float, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--log-every", type=int, default=10)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # recorded in the adapter as the exact command
    return _train_command(args)

