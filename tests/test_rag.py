"""Tests for course_utils.trust.rag (chapter 50), with a stand-in model."""

from dataclasses import dataclass

import pytest

from course_utils.trust import rag
from course_utils.trust.retrieval import Chunk, Hit


def hits(*texts, heading="Credits"):
    return [Hit(Chunk(i, "credits.md", heading, f"{heading}: {t}"), 1.0 - i / 10)
            for i, t in enumerate(texts)]


@dataclass
class Reply:
    text: str


class EchoModel:
    """Records the prompt and answers with a fixed text."""

    def __init__(self, answer="CC BY 4.0\nmore"):
        self.answer, self.calls = answer, []

    def chat(self, messages, system=None, max_tokens=16, stop=None, **settings):
        self.calls.append((messages, system, max_tokens, stop))
        return Reply(self.answer)


def test_rag_prompt_numbers_passages_before_the_question():
    (turn,) = rag.rag_messages("What licence?", hits("digits; CC BY 4.0", "voice; MIT"))
    content = turn["content"]
    assert content.index("[1] Credits: digits") < content.index("[2] Credits: voice") \
        < content.index("Question: What licence?")
    assert rag.ABSTAIN in content


def test_generate_uses_system_prompt_and_keeps_first_line():
    model = EchoModel()
    answer = rag.generate(model, rag.closed_book_messages("What licence?"), max_tokens=8)
    assert answer == "CC BY 4.0"
    _, system, max_tokens, stop = model.calls[0]
    assert system == rag.SYSTEM and max_tokens == 8 and stop == ["\n"]


def test_extractive_answer_picks_best_sentence_and_drops_question_words():
    passages = hits("The voice is joe. The digits data set has licence CC BY 4.0.",
                    "Nothing about it here.")
    answer = rag.extractive_answer("Which licence does the digits data set have?", passages)
    assert answer == "The has CC BY 4.0."
    assert "digits" not in answer
    assert rag.extractive_answer("zebra?", passages) == rag.ABSTAIN
    short = rag.extractive_answer("digits licence?", passages, max_words=2)
    assert len(short.split()) == 2


def test_support_and_verify():
    passages = hits("digits; CC BY 4.0")
    assert rag.support("CC BY 4.0", passages, "licence?") == 1.0
    assert rag.support("GPL-3.0", passages, "licence?") == 0.0
    assert rag.support("digits", passages, "digits licence?") == 0.0  # echo proves nothing
    good = rag.verify("CC BY 4.0", passages, "licence?")
    assert good.supported and not good.abstained
    bad = rag.verify("I don't know", passages, "licence?")
    assert bad.abstained and not bad.supported


def test_abstention_rules():
    assert rag.is_abstention("I don't know.")
    assert rag.is_abstention("The context does not mention it")
    assert not rag.is_abstention("MIT")
    assert rag.abstain(0.2, threshold=0.3)
    assert not rag.abstain(0.5, threshold=0.3)
    assert rag.abstain(0.5, threshold=0.3, supported=False)


@pytest.mark.parametrize("call", [
    lambda: rag.closed_book_messages(""),
    lambda: rag.closed_book_messages("x" * 400),
    lambda: rag.rag_messages("What?", []),
    lambda: rag.generate(EchoModel(), rag.closed_book_messages("q"), max_tokens=0),
    lambda: rag.extractive_answer("q", []),
    lambda: rag.extractive_answer("q", hits("a"), max_words=0),
    lambda: rag.support(None, hits("a")),
    lambda: rag.abstain(float("nan"), 0.3),
    lambda: rag.abstain(0.5, threshold=2.0),
    lambda: rag.verify("a", hits("a"), "q", min_support=1.5),
])
def test_bad_input_is_rejected(call):
    with pytest.raises(ValueError):
        call()
