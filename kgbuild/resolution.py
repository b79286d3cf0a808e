"""Entity resolution inside a document, so that one real thing is one node.

- A short form joins its long form: a later "Schneider" joins "Willi Schneider" (a person's
  surname or given name), "NATO" joins a matching acronym, when their types agree.
- A passage's title entity is recognised in its own text: a mention matching the title (without
  its parenthetical disambiguator) takes the title as its key, so "John Smith (footballer)" and
  "John Smith (politician)" stay two nodes while both are labelled "John Smith".
- Across documents, entities meet through their IRIs, which are minted from the resolved key and
  the ontology class (`kgbuild.rdf.iris`): same normalised name and same type, same node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kgbuild.records import Extraction, ParsedDocument, PredictedRelation, Span

PERSON_TYPES = ("PER", "Peop")
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)\s*$")


@dataclass(frozen=True, slots=True)
class ResolvedEntity:
    """An entity of one document after resolution: what its IRI is minted from, and its mentions."""

    key: str
    label: str
    type: str
    mentions: tuple[Span, ...]
    aliases: tuple[str, ...]
    confidence: float


@dataclass(frozen=True, slots=True)
class ResolvedDocument:
    """A parsed document with resolved entities and relations between them (by index)."""

    parsed: ParsedDocument
    entities: tuple[ResolvedEntity, ...]
    relations: tuple[PredictedRelation, ...]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _acronym(text: str) -> str:
    return "".join(word[0] for word in re.findall(r"\w+", text) if word[0].isupper())


def _short_form_of(short: str, long: str, entity_type: str) -> bool:
    """Whether `short` names the same thing as `long` in one document."""
    short_words, long_words = _words(short), _words(long)
    if not short_words or len(short_words) >= len(long_words):
        return False
    if entity_type in PERSON_TYPES:
        return short_words == long_words[-len(short_words) :] or short_words == long_words[: len(short_words)]
    compact = short.replace(".", "")
    return len(compact) >= 2 and compact.isupper() and compact == _acronym(long)


def title_name(title: str) -> str:
    """Return the name a title gives its subject: ``"Lambert (bishop)"`` -> ``"Lambert"``."""
    return _PARENTHETICAL.sub("", title).strip()


def resolve_document(parsed: ParsedDocument, extraction: Extraction) -> ResolvedDocument:
    """Merge short forms into long forms and key the title entity by the title."""
    entities = [entity for entity in extraction.entities if entity.mentions]
    if len(entities) != len(extraction.entities):
        raise ValueError(f"document {parsed.document.id!r}: an entity without mentions")
    surfaces = [max((parsed.surface(m) for m in e.mentions), key=len) for e in entities]
    target = list(range(len(entities)))
    by_length = sorted(range(len(entities)), key=lambda i: -len(surfaces[i]))
    for short in range(len(entities)):
        candidates = {
            surfaces[long].casefold(): long
            for long in by_length
            if long != short
            and entities[long].type == entities[short].type
            and _short_form_of(surfaces[short], surfaces[long], entities[short].type)
        }
        if len(candidates) == 1:  # "Smith" with both "John Smith" and "Mary Smith" stays on its own
            target[short] = next(iter(candidates.values()))
    for index in range(len(target)):  # follow chains: a -> b -> c
        seen = {index}
        while target[target[index]] != target[index] and target[target[index]] not in seen:
            seen.add(target[index])
            target[index] = target[target[index]]
    roots = sorted(set(target))
    position = {root: i for i, root in enumerate(roots)}
    title = parsed.document.title
    name = title_name(title).casefold() if title else ""
    resolved = []
    for root in roots:
        members = [i for i in range(len(entities)) if target[i] == root]
        mentions = tuple(sorted({m for i in members for m in entities[i].mentions}))
        forms = sorted({parsed.surface(m) for m in mentions}, key=lambda s: (-len(s), s))
        label = surfaces[root]
        key = label
        if name and any(form.casefold() == name for form in forms):
            label, key = title_name(title), title
        aliases = tuple(form for form in forms if form != label)
        confidence = max(entities[i].confidence for i in members)
        resolved.append(ResolvedEntity(key, label, entities[root].type, mentions, aliases, confidence))
    relations: dict[tuple[int, int, str], PredictedRelation] = {}
    for relation in extraction.relations:
        head, tail = position[target[relation.head]], position[target[relation.tail]]
        if head == tail:
            continue
        kept = relations.get((head, tail, relation.label))
        if kept is None or relation.confidence > kept.confidence:
            relations[head, tail, relation.label] = PredictedRelation(head, tail, relation.label, relation.confidence)
    return ResolvedDocument(parsed, tuple(resolved), tuple(relations.values()))
