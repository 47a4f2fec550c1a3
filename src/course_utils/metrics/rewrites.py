"""Sentence rewrites whose effect on the meaning is known by construction (chapter 51).

Each reference sentence is built from slots, ``the <adjective> <agent> <verb> the <adjective>
<patient> <place>.``, and every slot word has a synonym. From one reference the course makes:

==========================  ==============================================  ================
rewrite                     example                                          meaning kept?
==========================  ==============================================  ================
identical                   the old doctor helped the young child ...       yes
paraphrase (synonyms)       the elderly physician assisted the youthful ...  yes
negation (never)            the old doctor never helped the young child ...  no (reversed)
roles swapped               the young child helped the old doctor ...        no (who did what)
words shuffled              child the helped old ...                         no (word salad)
unrelated sentence          another reference of the set                     no
==========================  ==============================================  ================

A metric that tracks meaning must rank the paraphrase above the three meaning-changing rewrites
that reuse the reference's words. Surface-overlap metrics cannot: the paraphrase shares only
"the" with its reference.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from course_utils.core.validation import check_int

# (word, synonym) pairs per slot; verbs are past tense
PEOPLE = (("doctor", "physician"), ("child", "kid"), ("teacher", "instructor"),
          ("lawyer", "attorney"), ("student", "pupil"), ("boss", "manager"),
          ("sailor", "seaman"), ("thief", "robber"), ("friend", "pal"),
          ("officer", "policeman"), ("mother", "mom"), ("father", "dad"))
ADJECTIVES = (("old", "elderly"), ("young", "youthful"), ("happy", "glad"),
              ("angry", "furious"), ("tired", "exhausted"), ("quiet", "silent"),
              ("rich", "wealthy"), ("clever", "smart"), ("brave", "courageous"),
              ("little", "small"))
VERBS = (("helped", "assisted"), ("called", "phoned"), ("chased", "pursued"),
         ("watched", "observed"), ("met", "encountered"), ("hired", "employed"),
         ("warned", "alerted"), ("taught", "instructed"), ("fooled", "tricked"),
         ("followed", "tailed"))
PLACES = (("in the park", "at the park"), ("near the river", "by the river"),
          ("last night", "yesterday evening"), ("this morning", "early today"),
          ("at the station", "at the train station"), ("after lunch", "after the midday meal"))

#: rewrite name -> does it keep the reference's meaning?
REWRITES: dict[str, bool] = {
    "identical": True,
    "paraphrase (synonyms)": True,
    "negation (never)": False,
    "roles swapped": False,
    "words shuffled": False,
    "unrelated sentence": False,
}


@dataclass(frozen=True)
class Slots:
    """Indices into the word tables: one sentence and all of its rewrites."""

    agent_adjective: int
    agent: int
    verb: int
    patient_adjective: int
    patient: int
    place: int

    def text(self, synonyms: bool = False, negated: bool = False, swapped: bool = False) -> str:
        """The sentence, with every slot word replaced by its synonym, ``never`` before the
        verb, or agent and patient (with their adjectives) exchanged."""
        s = int(synonyms)
        agent = f"{ADJECTIVES[self.agent_adjective][s]} {PEOPLE[self.agent][s]}"
        patient = f"{ADJECTIVES[self.patient_adjective][s]} {PEOPLE[self.patient][s]}"
        if swapped:
            agent, patient = patient, agent
        verb = ("never " if negated else "") + VERBS[self.verb][s]
        return f"the {agent} {verb} the {patient} {PLACES[self.place][s]}."


def make_references(n: int, seed: int = 0) -> list[Slots]:
    """``n`` different sentences (agent and patient always different people)."""
    n = check_int("n", n, low=1, high=5000)
    rng = random.Random(seed)
    seen: set[Slots] = set()
    while len(seen) < n:
        agent, patient = rng.sample(range(len(PEOPLE)), 2)
        seen.add(Slots(rng.randrange(len(ADJECTIVES)), agent, rng.randrange(len(VERBS)),
                       rng.randrange(len(ADJECTIVES)), patient, rng.randrange(len(PLACES))))
    return sorted(seen, key=lambda slots: rng.random())


def rewrite(references: list[Slots], kind: str, seed: int = 0) -> list[str]:
    """The rewrite ``kind`` (a key of :data:`REWRITES`) of every reference, ``(N,)`` texts."""
    if kind not in REWRITES:
        raise ValueError(f"unknown rewrite {kind!r}; choose one of {list(REWRITES)}.")
    if not references:
        raise ValueError("give at least one reference sentence.")
    if kind == "unrelated sentence" and len(references) < 2:
        raise ValueError("an unrelated sentence needs at least two references.")
    rng = random.Random(seed)
    out = []
    for i, slots in enumerate(references):
        if kind == "identical":
            out.append(slots.text())
        elif kind == "paraphrase (synonyms)":
            out.append(slots.text(synonyms=True))
        elif kind == "negation (never)":
            out.append(slots.text(negated=True))
        elif kind == "roles swapped":
            out.append(slots.text(swapped=True))
        elif kind == "words shuffled":
            tokens = slots.text().rstrip(".").split()
            rng.shuffle(tokens)
            out.append(" ".join(tokens) + ".")
        else:  # unrelated: the next reference of the list (a different sentence)
            out.append(references[(i + 1) % len(references)].text())
    return out
