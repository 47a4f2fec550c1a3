"""Co-writing with a model: it suggests, the person accepts, edits, rejects or writes, and every
step is kept (chapter 64).

:class:`CoWritingSession` holds the draft as a list of pieces, each with its author:
``"model"`` (a suggestion accepted as it was), ``"model, edited"`` (a suggestion the person
changed before keeping) or ``"person"``. From that record it reports who wrote how much of
the final text and how the suggestions fared - the numbers a study of human-AI writing
collects.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from course_utils.core.validation import check_text

MAX_DRAFT_CHARS = 4000
AUTHORS = ("person", "model", "model, edited")


@dataclass(frozen=True)
class Event:
    """One step: ``action`` is suggest / accept / edit / reject / write."""

    action: str
    text: str
    suggestion: str = ""
    similarity: float | None = None  # edit: difflib ratio of kept text to the suggestion


@dataclass
class CoWritingSession:
    """A draft written together with ``suggest(draft) -> next sentence``.

    Raises ``ValueError`` with what to do on any step out of order (accepting with no
    suggestion pending, an empty edit...); the draft is never changed by a failed step.
    """

    suggest_fn: Callable[[str], str]
    pieces: list[tuple[str, str]] = field(default_factory=list)  # (author, text)
    events: list[Event] = field(default_factory=list)
    pending: str | None = None

    @property
    def draft(self) -> str:
        return " ".join(text for _, text in self.pieces)

    def write(self, text: str) -> None:
        """The person adds their own text."""
        text = check_text("text", text.strip() if isinstance(text, str) else text,
                          max_length=MAX_DRAFT_CHARS)
        self._check_room(text)
        self.pieces.append(("person", text))
        self.events.append(Event("write", text))

    def suggest(self) -> str:
        """Ask the model for the next sentence (replaces any pending suggestion)."""
        if not self.pieces:
            raise ValueError("Write the first sentence yourself; the model continues a draft.")
        suggestion = self.suggest_fn(self.draft).strip()
        if not suggestion:
            raise ValueError("The model suggested nothing; ask again.")
        self.pending = suggestion
        self.events.append(Event("suggest", suggestion, suggestion))
        return suggestion

    def accept(self) -> None:
        suggestion = self._take_pending("accept")
        self._check_room(suggestion)
        self.pieces.append(("model", suggestion))
        self.events.append(Event("accept", suggestion, suggestion))

    def edit(self, text: str) -> None:
        """Keep an edited version of the pending suggestion."""
        text = check_text("edited text", text.strip() if isinstance(text, str) else text,
                          max_length=MAX_DRAFT_CHARS)
        self._check_room(text)
        suggestion = self._take_pending("edit")
        ratio = difflib.SequenceMatcher(None, suggestion, text).ratio()
        self.pieces.append(("model, edited", text))
        self.events.append(Event("edit", text, suggestion, ratio))

    def reject(self) -> None:
        suggestion = self._take_pending("reject")
        self.events.append(Event("reject", "", suggestion))

    def _take_pending(self, action: str) -> str:
        if self.pending is None:
            raise ValueError(f"Nothing to {action}: ask for a suggestion first.")
        suggestion, self.pending = self.pending, None
        return suggestion

    def _check_room(self, text: str) -> None:
        if len(self.draft) + len(text) + 1 > MAX_DRAFT_CHARS:
            raise ValueError(f"The draft would pass {MAX_DRAFT_CHARS} characters; start a "
                             "new one.")

    def authorship(self) -> dict[str, float]:
        """Share of the final draft's characters by author (sums to 1; empty draft: zeros)."""
        total = sum(len(t) for _, t in self.pieces)
        return {a: (sum(len(t) for who, t in self.pieces if who == a) / total if total else 0.0)
                for a in AUTHORS}

    def suggestion_outcomes(self) -> dict[str, int]:
        """How the suggestions ended: accepted, edited, rejected, or still pending/replaced."""
        counts = {a: sum(e.action == a for e in self.events) for a in ("accept", "edit",
                                                                        "reject")}
        counts["suggested"] = sum(e.action == "suggest" for e in self.events)
        return counts


def next_sentence_suggester(model, temperature: float = 0.7, max_tokens: int = 40,
                            seed: int = 0) -> Callable[[str], str]:
    """``suggest(draft)`` on SmolLM2: one more sentence that continues the draft. Seeds
    advance with each call, so asking again gives a different suggestion."""
    calls = [0]

    def suggest(draft: str) -> str:
        draft = check_text("draft", draft, max_length=MAX_DRAFT_CHARS)
        calls[0] += 1
        answer = model.chat([{"role": "user", "content": (
            f"Here is the start of a text:\n\n{draft}\n\nWrite the next sentence of the "
            "text.")}], max_tokens=max_tokens, temperature=temperature,
            seed=seed + calls[0], stop=["\n"]).text.strip()
        # keep the first sentence only
        end = min((answer.find(p) + 1 for p in ".!?" if p in answer), default=len(answer))
        return answer[:end].strip()

    return suggest
