"""Relation cues: words of a question that name the hop it asks for ("mother" -> P25), and its direction.

A cue names a relation whose object is the next thing to read about ("the director of X": read the
director's passage), so only relations that lead to another entity's passage are cues; an
attribute the question asks for (a date, a place of birth) is the answer inside that passage, not a
hop. Each property's ontology label is a cue, with the words questions use for it.

A cue has a direction. "The father of X" is X's P22 object, or the subject of a P40 (child) triple
whose object is X, written ``^P40`` as in a SPARQL inverse path; it is not X's P22 subject (one of
X's children), and the walk must not favour that edge: it is the question's entity's own triples
read the wrong way round.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from kgbuild import relation_names

INVERSE = "^"

# Words for a hop that is the object of a triple about the question's entity ("the director of film X").
_CUE_WORDS: dict[str, tuple[str, ...]] = {
    "P22": ("father", "dad", "paternal", "grandfather", "grandmother"),
    "P25": ("mother", "mom", "maternal", "grandmother", "grandfather"),
    "P26": ("spouse", "wife", "husband", "married", "widow", "widower", "consort"),
    "P40": ("child", "children", "son", "daughter", "grandchild", "grandson", "granddaughter"),
    "P3373": ("sibling", "brother", "sister"),
    "P57": ("director", "directed", "directs", "filmmaker"),
    "P58": ("screenwriter", "writer", "wrote", "written"),
    "P50": ("author", "wrote", "written", "writer"),
    "P86": ("composer", "composed", "music"),
    "P175": ("performer", "performed", "singer", "sang", "band", "artist"),
    "P162": ("producer", "produced"),
    "P161": ("cast", "starring", "starred", "actor", "actress"),
    "P112": ("founder", "founded", "founding"),
    "P123": ("publisher", "published"),
    "P170": ("creator", "created"),
    "P176": ("manufacturer", "manufactured", "made"),
    "P178": ("developer", "developed"),
    "P264": ("label",),
    "P272": ("company", "studio"),
    "P108": ("employer", "worked"),
    "P69": ("educated", "studied", "university", "school", "college", "alma"),
    "P488": ("chairperson", "chairman", "president"),
    "P6": ("mayor", "governor", "prime"),
    "P35": ("king", "queen", "monarch"),
    "P676": ("lyricist", "lyrics"),
    "P1365": ("predecessor", "preceded", "replaced"),
    "P1366": ("successor", "succeeded"),
}
# Words for a hop that is the subject of a triple whose object is the question's entity: a parent read
# off the child edge ("the mother of X" standing as "Y child X"), a child off the parent edges, the
# symmetric relations, and verbs, which ask either way ("Who directed X?", "the film X directed").
_INVERSE_CUE_WORDS: dict[str, tuple[str, ...]] = {
    "P22": ("son", "daughter", "child"),
    "P25": ("son", "daughter", "child"),
    "P26": _CUE_WORDS["P26"],
    "P40": ("mother", "father", "parent", "paternal", "maternal", "grandfather", "grandmother"),
    "P3373": _CUE_WORDS["P3373"],
    "P57": ("directed", "directs"),
    "P58": ("wrote", "written"),
    "P50": ("wrote", "written"),
    "P86": ("composed",),
    "P175": ("performed", "sang"),
    "P162": ("produced",),
    "P161": ("starring", "starred"),
    "P112": ("founded",),
    "P123": ("published",),
    "P170": ("created",),
    "P176": ("manufactured", "made"),
    "P178": ("developed",),
    "P108": ("worked",),
    "P69": ("studied",),
    "P1365": ("preceded", "replaced"),
    "P1366": ("succeeded",),
}
# Kinship words that name a path of two relations ("father-in-law": the spouse's father), mapped to its
# first hop, the one that leaves the question's entity: the walk reads that passage next. Matched before
# single words, whose cues they replace ("father-in-law" is not a father). A parent hop is also the
# subject of a child triple (``^P40``), a child hop the subject of a parent triple.
_PARENT = ("P22", "P25", "^P40")
_FATHER, _MOTHER = ("P22", "^P40"), ("P25", "^P40")
_CHILD = ("P40", "^P22", "^P25")
_SPOUSE = ("P26", "^P26")
_SIBLING = ("P3373", "^P3373")
_PATH_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"(?:father|mother|parent)s?[- ]in[- ]law", _SPOUSE),
    (r"(?:son|daughter|child)(?:ren|s)?[- ]in[- ]law", _CHILD),
    (r"(?:brother|sister|sibling)s?[- ]in[- ]law", _SPOUSE + _SIBLING),
    (r"paternal (?:grandfather|grandmother|grandparent)s?", _FATHER),
    (r"maternal (?:grandfather|grandmother|grandparent)s?", _MOTHER),
    (r"step-?(?:mother|mom)s?", _FATHER),  # the father's spouse
    (r"step-?(?:father|dad)s?", _MOTHER),
    (r"step-?(?:son|daughter|child)(?:ren|s)?", _SPOUSE),  # the spouse's child
    (r"(?:uncle|aunt|cousin)s?", _PARENT),
    (r"(?:nephew|niece)s?", _SIBLING),
)
_PATHS = re.compile(r"\b(?:" + "|".join(f"({pattern})" for pattern, _ in _PATH_WORDS) + r")\b")
_LABEL_CUES = ("P22", "P25", "P26", "P40", "P3373", "P57", "P58", "P50", "P86", "P175", "P162", "P112", "P123")


@cache
def cue_lexicon() -> dict[str, frozenset[str]]:
    """Map each cue word (case-folded) to the cues it names: relation labels, ``^`` before an inverse one."""
    lexicon: dict[str, set[str]] = {}
    for words_of, prefix in ((_CUE_WORDS, ""), (_INVERSE_CUE_WORDS, INVERSE)):
        for label, words in words_of.items():
            for word in words:
                lexicon.setdefault(word, set()).add(prefix + label)
    names = relation_names()
    for label in _LABEL_CUES:
        name = names.get(label, "")
        if name and " " not in name:
            lexicon.setdefault(name.casefold(), set()).add(label)
    return {word: frozenset(labels) for word, labels in lexicon.items()}


def relation_cues(question: str) -> tuple[str, ...]:
    """Return the cues the question's words name, sorted: ``P57`` forward, ``^P40`` inverse.

    A kinship word for a path ("father-in-law", "paternal grandmother", "stepmother") names its first hop.
    """
    lexicon = cue_lexicon()
    found: set[str] = set()
    text = question.casefold()
    for match in _PATHS.finditer(text):
        found.update(_PATH_WORDS[match.lastindex - 1][1] if match.lastindex else ())
    for word in re.findall(r"\w+", _PATHS.sub(" ", text)):
        found |= lexicon.get(word, frozenset())
    return tuple(sorted(found))


def parse_cue(cue: str) -> tuple[str, bool]:
    """Split a cue into its relation label and whether it is followed forward (subject to object)."""
    return cue.removeprefix(INVERSE), not cue.startswith(INVERSE)


def evidence_words(cues: Iterable[str]) -> frozenset[str]:
    """Return the words a passage may state the cued hops with, in either direction.

    A passage states "the father of X" as "X was the son of Y" as often as "X's father Y", so a
    relation's cue words and its inverse's are evidence alike: ``P22`` -> father, son, daughter, ...
    """
    found: set[str] = set()
    for cue in cues:
        label, _ = parse_cue(cue)
        found.update(_CUE_WORDS.get(label, ()), _INVERSE_CUE_WORDS.get(label, ()))
    return frozenset(found)
