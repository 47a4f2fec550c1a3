"""A course tutor built layer by layer: data -> model -> application -> governance (chapter 60).

The layers, in the order a request meets them (each timed into the request's record)::

    input checks   check_request + redact            (governance)
    moderation     classifier and/or keywords -> refuse (governance)
    retrieval      MiniLM top-k over the course pages (data)
    injection      drop passages that address the model (governance)
    generation     SmolLM2 with the passages (model), watermarked or not
    verification   is the answer in the passages?    (governance)
    watermark      z-score of the answer's tokens     (governance)
    log            one redacted record per request    (governance)

:class:`TutorSettings` switches every governance layer on or off, so the chapter can measure
what each one catches, and the model layer between SmolLM2 with retrieval (``"rag"``),
chapter 50's extractive reading with no language model (``"extractive"``) and the bare model
(``"closed book"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from course_utils.apps import governance as gov
from course_utils.core.validation import check_int
from course_utils.trust import injection as inj
from course_utils.trust import rag
from course_utils.trust import retrieval as rt
from course_utils.trust import watermark as wm

MODES = ("rag", "extractive", "closed book")
MODERATION = ("both", "classifier", "keywords", "off")
REFUSAL = "I can't help with that request."
NOT_FOUND_NOTE = " (not found in the course pages)"


@dataclass(frozen=True)
class TutorSettings:
    """Which layers run. Defaults: SmolLM2 with the top-2 passages, every governance layer on
    except the watermark (chapter 60 measures why: on short answers it costs accuracy and
    detects nothing); ``moderation="both"`` refuses what the classifier *or* the keyword
    blocklist flags."""

    mode: str = "rag"
    k: int = 2
    moderation: str = "both"
    filter_injection: bool = True
    redact: bool = True
    verify: bool = True
    watermark: bool = False
    max_tokens: int = 24

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}.")
        if self.moderation not in MODERATION:
            raise ValueError(f"moderation must be one of {MODERATION}, got "
                             f"{self.moderation!r}.")
        check_int("k", self.k, low=1, high=10)
        check_int("max_tokens", self.max_tokens, low=1, high=256)


@dataclass
class CourseTutor:
    """The application: ``tutor.ask(request)`` -> :class:`~course_utils.apps.governance.Record`.

    Args:
        model: SmolLM2 (:func:`course_utils.llm.smollm2.load_smollm2`).
        index: the data layer, an :class:`~course_utils.trust.retrieval.EmbeddingIndex` over
            the course pages.
        moderator: a :class:`~course_utils.apps.governance.ModerationClassifier`.
        settings: which layers run.
        key: the watermark key (generation and detection share it).
    """

    model: object
    index: rt.EmbeddingIndex
    moderator: gov.ModerationClassifier
    settings: TutorSettings = TutorSettings()
    key: wm.WatermarkKey = wm.WatermarkKey(delta=2.0, context=1)
    log: gov.AuditLog = field(default_factory=gov.AuditLog)

    def ask(self, request: str, plant: str | None = None) -> gov.Record:
        """Answer one request through every layer that is switched on.

        Args:
            request: the learner's text (at most 300 characters).
            plant: a passage an attacker managed to get retrieved, placed next to the
                question (chapter 54's injection threat); ``None`` for none.

        Raises:
            ValueError: the request is not text, empty or too long (nothing is logged).
        """
        s = self.settings
        seconds: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(layer: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            seconds[layer] = seconds.get(layer, 0.0) + now - clock
            clock = now

        text = gov.check_request(request)
        found: list[str] = []
        if s.redact:
            text, found = gov.redact(text)
        record = gov.Record(request=text, redacted=found, seconds=seconds)
        lap("input checks")
        if s.moderation != "off":
            flagged = (s.moderation in ("both", "classifier") and self.moderator.flags(text)) \
                or (s.moderation in ("both", "keywords") and gov.keyword_flags(text))
            lap("moderation")
            if flagged:
                record.refused_by, record.answer = "moderation", REFUSAL
                return self._logged(record, lap)
        hits: list[rt.Hit] = []
        if s.mode != "closed book":
            hits = self.index.search(text[:rt.MAX_QUERY_CHARS], k=s.k)
            if plant is not None:
                hits = inj.inject(hits, plant)
            lap("retrieval")
            if s.filter_injection:
                hits, record.passages_dropped = inj.filter_passages(hits)
                lap("injection filter")
        record.answer = self._answer(text, hits)
        lap("generation")
        if s.verify and s.mode != "closed book" and hits:
            record.supported = rag.verify(record.answer, hits, text).supported
            lap("verification")
        if s.watermark and s.mode != "extractive" and record.answer:
            ids = self.model.tokenize(record.answer, special=False)
            record.watermark_z = wm.detect(ids, self.vocab_size, self.key).z
            lap("watermark check")
        return self._logged(record, lap)

    @property
    def vocab_size(self) -> int:
        return int(self.model.llama.n_vocab())

    def _answer(self, text: str, hits: Sequence[rt.Hit]) -> str:
        s = self.settings
        if s.mode == "extractive":
            return rag.extractive_answer(text, hits) if hits else rag.ABSTAIN
        if s.mode == "rag" and not hits:  # every passage was filtered out
            return rag.ABSTAIN
        messages = rag.rag_messages(text, hits) if s.mode == "rag" \
            else rag.closed_book_messages(text)
        processors = [wm.logits_processor(self.vocab_size, self.key)] if s.watermark else []
        return rag.generate(self.model, messages, max_tokens=s.max_tokens,
                            logits_processor=processors)

    def _logged(self, record: gov.Record, lap) -> gov.Record:
        self.log.add(record)
        lap("log")
        return record

    def reply(self, record: gov.Record) -> str:
        """What the learner sees: the answer, with a note when verification found no support."""
        note = NOT_FOUND_NOTE if record.supported is False else ""
        return record.answer + note
