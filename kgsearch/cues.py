"""Relation cues: words of a question that name the hop it asks for ("mother" -> P25).

A cue names a relation whose object is the next thing to read about ("the director of X": read the
director's passage), so only relations that lead to another entity's passage are cues; an
attribute the question asks for (a date, a place of birth) is the answer inside that passage, not a
hop. Each property's ontology label is a cue, with the words questions use for it.
"""

from __future__ import annotations

import re
from functools import cache

from kgbuild.pipeline import relation_names

# Words questions use for a hop, beyond the property labels themselves.
_CUE_WORDS: dict[str, tuple[str, ...]] = {
    "P22": ("father", "dad", "paternal", "grandfather", "grandmother", "son", "daughter", "child"),
    "P25": ("mother", "mom", "maternal", "grandmother", "grandfather", "son", "daughter", "child"),
    "P26": ("spouse", "wife", "husband", "married", "widow", "widower", "consort"),
    # A parent is also read off the inverse edge: "the mother of X" may stand as "Y child X".
    "P40": (
        "child",
        "children",
        "son",
        "daughter",
        "grandchild",
        "grandson",
        "granddaughter",
        "mother",
        "father",
        "parent",
        "paternal",
        "maternal",
        "grandfather",
        "grandmother",
    ),
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
_LABEL_CUES = ("P22", "P25", "P26", "P40", "P3373", "P57", "P58", "P50", "P86", "P175", "P162", "P112", "P123")


@cache
def cue_lexicon() -> dict[str, frozenset[str]]:
    """Map each cue word (case-folded) to the relation labels it names."""
    lexicon: dict[str, set[str]] = {}
    names = relation_names()
    for label, words in _CUE_WORDS.items():
        for word in words:
            lexicon.setdefault(word, set()).add(label)
    for label in _LABEL_CUES:
        name = names.get(label, "")
        if name and " " not in name:
            lexicon.setdefault(name.casefold(), set()).add(label)
    return {word: frozenset(labels) for word, labels in lexicon.items()}


def relation_cues(question: str) -> tuple[str, ...]:
    """Return the relation labels the question's words name, sorted."""
    lexicon = cue_lexicon()
    found: set[str] = set()
    for word in re.findall(r"\w+", question.casefold()):
        found |= lexicon.get(word, frozenset())
    return tuple(sorted(found))
