"""Training documents with their names swapped: the same contexts, other people's and organisations' names.

Re-DocRED states each family's kinship with that family's names, a hundred or so triples per label. A copy
of a document whose persons and organisations carry the names of same-typed entities from other documents
keeps every context ("He was the son of ...", "his wife ...") and its labels, so the relation head learns
from the words around the names rather than the names (mention replacement, Dai and Adel, 2020).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kgbuild.records import EntityAnnotation, Example, Span, TokenizedText

SWAPPED_TYPES = ("PER", "ORG")  # places and MISC include demonyms ("American") and titles, which a swap garbles
_TRIES = 30


def swap_names(
    examples: Sequence[Example], copies: int = 1, seed: int = 1, types: Sequence[str] = SWAPPED_TYPES
) -> list[Example]:
    """Return `copies` renamed copies of every example, in order (the originals are not included).

    Each entity of a type in `types` takes the name of a random entity of that type from another example:
    its longest mention becomes the other's longest mention, a one-word mention equal to its last (or
    first) word becomes the other's last (or first) word, any other mention the other's longest. One-word
    names are swapped only for one-word names, longer ones for longer ones, and never for a name the copy
    already holds (two people of one copy never share a name). Entities with a mention that overlaps
    another mention keep their names. Relations and evidence are unchanged; so are pronouns and any
    repetition of a name that is not annotated as a mention. A copy in which nothing could be renamed is
    left out rather than repeating its document.
    """
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    rng = random.Random(seed)
    pool: dict[str, list[tuple[int, tuple[str, ...]]]] = {kind: [] for kind in types}
    for number, example in enumerate(examples):
        for entity in example.entities:
            if entity.type in pool:
                pool[entity.type].append((number, _longest(example.text.tokens, entity)))
    swapped = (
        _swapped(example, number, pool, rng, f" (names swapped{f' {copy + 1}' if copy else ''})")
        for copy in range(copies)
        for number, example in enumerate(examples)
    )
    return [copy for copy in swapped if copy is not None]


def _longest(tokens: Sequence[str], entity: EntityAnnotation) -> tuple[str, ...]:
    return max({tuple(tokens[m.start : m.end]) for m in entity.mentions}, key=lambda form: (len(form), form))


def _renamed(form: tuple[str, ...], longest: tuple[str, ...], name: tuple[str, ...]) -> tuple[str, ...]:
    if len(form) == 1 and len(longest) > 1 and form != longest:
        if form[0] == longest[-1]:
            return name[-1:]  # a surname
        if form[0] == longest[0]:
            return name[:1]
    return name


def _swapped(
    example: Example, number: int, pool: dict[str, list[tuple[int, tuple[str, ...]]]], rng: random.Random, suffix: str
) -> Example | None:
    tokens = example.text.tokens
    spans = [m for entity in example.entities for m in entity.mentions]
    longests = [_longest(tokens, entity) for entity in example.entities]
    taken = set(longests)  # names this copy must not repeat
    edits: dict[Span, tuple[str, ...]] = {}
    for entity, longest in zip(example.entities, longests, strict=True):
        if entity.type not in pool or any(_overlaps(m, spans) for m in entity.mentions):
            continue
        for _ in range(_TRIES):
            other, name = rng.choice(pool[entity.type])
            if other != number and name not in taken and (len(name) > 1) == (len(longest) > 1):
                break
        else:
            continue
        taken.add(name)
        for mention in entity.mentions:
            edits[mention] = _renamed(tuple(tokens[mention.start : mention.end]), longest, name)
    if not edits:
        return None
    new_tokens: list[str] = []
    moved: dict[int, int] = {}  # an old word index (or the end) -> its new index; edited spans map as wholes
    position = 0
    for span in sorted(edits):
        for old in range(position, span.start):
            moved[old] = len(new_tokens)
            new_tokens.append(tokens[old])
        moved[span.start] = len(new_tokens)
        new_tokens.extend(edits[span])
        position = span.end
        moved[span.end] = len(new_tokens)
    for old in range(position, len(tokens)):
        moved[old] = len(new_tokens)
        new_tokens.append(tokens[old])
    moved[len(tokens)] = len(new_tokens)
    entities = tuple(
        EntityAnnotation(tuple(Span(moved[m.start], moved[m.end]) for m in entity.mentions), entity.type)
        for entity in example.entities
    )
    text = TokenizedText(
        tuple(new_tokens), tuple(moved[start] for start in example.text.sentence_starts), example.text.id + suffix
    )
    return Example(text, entities, example.relations)


def _overlaps(mention: Span, spans: list[Span]) -> bool:
    return sum(1 for span in spans if span.start < mention.end and mention.start < span.end) > 1
