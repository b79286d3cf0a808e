"""Entity resolution inside a document, so that one real thing is one node.

- A short form joins its long form: a later "Schneider" joins "Willi Schneider" (a person's
  surname or given name), "NATO" joins a matching acronym, when their types agree. Not when dropping
  the rest names another person: "Henry Ford" is not "Henry Ford II" (a generational suffix), and in
  the passage "Humphrey Stafford, Earl of Stafford" the name "Humphrey Stafford" is its subject, not
  his father "Humphrey Stafford, 1st Duke of Buckingham" (a short form naming the title stays with it).
- One name, one thing per passage: readings of a name the extractor typed differently in one passage
  join the reading with more mentions, unless the extractor relates the two (an album and its singer).
- A passage's title entity is recognised in its own text: a mention matching the title (without
  its parenthetical disambiguator) takes the whole title as its key and label, and the name as an
  alias, so "John Smith (footballer)" and "John Smith (politician)" stay two nodes with two labels.
- Across documents, entities meet through their IRIs, which are minted from the resolved key and
  the identity group (`kgbuild.rdf.iris`): same normalised name and same group, same node.
- Across the corpus, when the store is built: `kgbuild.corpus_resolution`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kgbuild.records import Extraction, ParsedDocument, PredictedEntity, PredictedRelation, Span

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
        if short_words == long_words[: len(short_words)]:  # a given name, or the name without its titles
            return len(short_words) < 2 or long_words[len(short_words)] not in _GENERATIONS
        return short_words == long_words[-len(short_words) :]
    compact = short.replace(".", "")
    return len(compact) >= 2 and compact.isupper() and compact == _acronym(long)


# Words after a full name that make it another person's: "Henry Ford II" is Henry Ford's grandson.
_GENERATIONS = frozenset({"ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "jr", "sr", "junior", "senior"})
_NUMERAL = re.compile(r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})|\d+(?:st|nd|rd|th)")  # "xiv", "3rd"
# Part of every document's content hash: a change to resolution rebuilds the documents it touches.
RESOLUTION_VERSION = 8
_UNTITLED_TYPES = ("TIME", "NUM")
TITLE_MATCH = 0.7  # least `title_match` score for a mention to be the passage's title entity


def _fold(text: str) -> list[str]:
    """Words of `text` without accents, case or punctuation: "Huc- Mazelet" -> ["huc", "mazelet"]."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", ascii_text.casefold())


def best_title_match(title: str, candidates: Iterable[tuple[str, Sequence[str]]]) -> str | None:
    """Return the key of the candidate ``(key, names)`` whose names name the passage titled `title` best.

    The best `title_match` score of each candidate's names decides (ties: the greater key); None when
    the best reaches no `TITLE_MATCH`.
    """
    scored = [(max(title_match(name, title) for name in names), key) for key, names in candidates]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= TITLE_MATCH else None


def title_match(surface: str, title: str) -> float:
    """Score in ``[0, 1]`` how surely a mention names the subject of a passage titled `title`.

    1.0 for the same name up to accents, case, spacing and punctuation ("Huc- Mazelet Luquiens" for
    "Huc-Mazelet Luquiens"); otherwise 0 when the surface has a numeral the title lacks ("Henry Ford II"
    for "Henry Ford", "John, 3rd Duke" for "John, 5th Duke"; "John Day" may still name "John Day, 5th
    Duke"); 0.9 for a name of two or more words inside the title or containing it ("Mafalda of Savoy"
    for "Princess Mafalda of Savoy"); 0.8 for a near spelling ("Bahram Beyzaie" for
    "Bahram Beyzai"); 0.7 for the same surname with the same initial ("Joseph Bradley Story" for
    "Joe Story"); 0 otherwise.
    """
    from difflib import SequenceMatcher

    name, words = _fold(title_name(title)), _fold(surface)
    if not name or not words:
        return 0.0
    if "".join(name) == "".join(words):
        return 1.0
    if not _numbering(words) <= _numbering(name):  # "Henry Ford II" is not "Henry Ford", nor the 3rd Duke the 5th
        return 0.0
    if len(words) >= 2 and len(name) >= 2 and (set(words) <= set(name) or set(name) <= set(words)):
        return 0.9
    if SequenceMatcher(None, " ".join(name), " ".join(words)).ratio() >= 0.85:
        return 0.8
    if len(name) >= 2 and len(words) >= 2 and name[-1] == words[-1] and name[0][0] == words[0][0]:
        return 0.7
    return 0.0


def _numbering(words: list[str]) -> set[str]:
    """Return the words that number one of a line of namesakes: regnal or generational numerals, ordinals."""
    return {w for w in words if w in _GENERATIONS or _NUMERAL.fullmatch(w)}


def title_name(title: str) -> str:
    """Return the name a title gives its subject: ``"Lambert (bishop)"`` -> ``"Lambert"``."""
    return _PARENTHETICAL.sub("", title).strip()


def _title_entity(
    parsed: ParsedDocument, entities: list[PredictedEntity], members_of: dict[int, list[int]]
) -> int | None:
    """Return the root of the entity the passage is about: the best title match, the earliest on a tie."""
    best: tuple[float, int, int] | None = None  # (-score, first word, root)
    for root, members in members_of.items():
        if entities[root].type in _UNTITLED_TYPES:
            continue
        for i in members:
            for mention in entities[i].mentions:
                score = title_match(parsed.surface(mention), parsed.document.title)
                if score >= TITLE_MATCH and (best is None or (-score, mention.start, root) < best):
                    best = (-score, mention.start, root)
    return best[2] if best is not None else None


def _join_title_surname(
    entities: list[PredictedEntity], surfaces: list[str], target: list[int], title: str, titled: int | None
) -> int | None:
    """Join a lone surname of the passage's subject to the subject; return the title entity's root.

    A person's passage often names them in full once, or never, and then by surname: "Born into a
    family in Sabaneta, Chávez became ..." in "Hugo Chávez", "Hamasaki moved to Tokyo" in "Ayumi
    Hamasaki". Such a one-word surname joins the title entity (or becomes it, where the full name is
    not in the text), even where the extractor related the two readings (it read the full name as the
    surname's father): a relation of the subject to itself is dropped. Where the full name is in the
    text, the surname joins it even beside relatives of that name ("Bowes" in "Betty Bowes" beside
    "Thomas David Bowes"): Wikipedia calls its subject by surname and relatives by given or full name.
    Where it is not, another person bearing the surname keeps the surname apart ("Ford" in a passage
    on Edsel Ford that names only "Henry Ford"). Nor for titles that are not a name ("Battle of
    Hastings": every word of a name is capitalised).
    """
    name = title_name(title).split()
    if len(name) < 2 or not all(word[:1].isupper() for word in name):
        return titled
    surname = _fold(name[-1])
    if titled is not None and entities[titled].type not in PERSON_TYPES:
        return titled
    roots = sorted({root for root in target if root != titled and entities[root].type in PERSON_TYPES})
    lone = [root for root in roots if _fold(surfaces[root]) == surname]
    others = [root for root in roots if root not in lone and _fold(surfaces[root])[-len(surname) :] == surname]
    if not lone or (others and titled is None):
        return titled
    subject = titled if titled is not None else lone[0]
    for index, root in enumerate(target):
        if root in lone:
            target[index] = subject
    return subject


def _follow_chains(target: list[int]) -> None:
    """Point every entity at the end of its chain of merges: a -> b -> c becomes a -> c, b -> c."""
    for index in range(len(target)):
        seen = {index}
        while target[target[index]] != target[index] and target[target[index]] not in seen:
            seen.add(target[index])
            target[index] = target[target[index]]


def _one_sense_per_document(
    entities: list[PredictedEntity], surfaces: list[str], target: list[int], relations: Iterable[PredictedRelation]
) -> None:
    """Join the extractor's separate readings of one name in one passage, whatever their types.

    A passage names one thing by one name ("one sense per discourse"): "Needtobreathe" read once as a
    band and once as a person is the band, the reading with more mentions (then the more confident one).
    A reading the extractor relates to one already joined stays apart: the album "Elvis Presley" by
    Elvis Presley.
    """
    from kgbuild.rdf.iris import normalize_label

    related = {frozenset((target[r.head], target[r.tail])) for r in relations}
    readings: dict[str, list[int]] = defaultdict(list)
    for root in sorted(set(target)):
        readings[normalize_label(surfaces[root])].append(root)
    # Each reading's members, gathered once: a join moves members between roots of one name only.
    members_of = _members(target)
    for roots in readings.values():
        if len(roots) < 2:
            continue

        def weight(root: int) -> tuple[int, float, int]:
            members = members_of[root]
            return sum(len(entities[i].mentions) for i in members), max(entities[i].confidence for i in members), -root

        ordered = sorted(roots, key=weight, reverse=True)
        keep, joined = ordered[0], [ordered[0]]
        for root in ordered[1:]:  # a reading related to one already joined stays apart
            if all(frozenset((root, other)) not in related for other in joined):
                joined.append(root)
        for root in joined[1:]:
            for index in members_of[root]:
                target[index] = keep


def _members(target: list[int]) -> dict[int, list[int]]:
    """Map each root (a value of `target`), in increasing order, to the entities that point at it."""
    members: dict[int, list[int]] = {root: [] for root in sorted(set(target))}
    for index, root in enumerate(target):
        members[root].append(index)
    return members


def _long_form_keys(name: str, entity_type: str) -> list[str]:
    """Return the index keys under which `name` is found as a long form.

    A person's name is found by its first and last word, anything else's by its acronym.
    """
    words = _words(name)
    if entity_type in PERSON_TYPES:
        return [f"^{words[0]}", f"${words[-1]}"] if words else []
    return [f"@{_acronym(name)}"]


def _short_form_keys(name: str, entity_type: str) -> list[str]:
    """Return the index keys under which the long forms `name` could shorten are found (`_long_form_keys`)."""
    words = _words(name)
    if not words:
        return []
    if entity_type in PERSON_TYPES:
        return [f"^{words[0]}", f"${words[-1]}"]
    return [f"@{name.replace('.', '')}"]


def _short_form_candidates(entities: list[PredictedEntity], surfaces: list[str]) -> list[list[int]]:
    """For each entity, the entities whose name it could shorten, longest name first.

    A person's short form shares the long form's first or last word and anything else's is its
    acronym: an index on those keys keeps long documents (thousands of entities) from comparing every pair.
    """
    by_length = sorted(range(len(entities)), key=lambda i: -len(surfaces[i]))
    rank = {entity: position for position, entity in enumerate(by_length)}
    index: dict[str, list[int]] = defaultdict(list)
    for long in by_length:
        for key in _long_form_keys(surfaces[long], entities[long].type):
            index[key].append(long)
    pools = []
    for short, surface in zip(entities, surfaces, strict=True):
        pool = {long for key in _short_form_keys(surface, short.type) for long in index.get(key, ())}
        pools.append(sorted(pool, key=rank.__getitem__))
    return pools


def _short_form_targets(entities: list[PredictedEntity], surfaces: list[str], names_title: list[bool]) -> list[int]:
    """For each entity, the entity it joins: the one long form of its type that it shortens, or itself.

    "Smith" joins "John Smith", but stays on its own beside both "John Smith" and "Mary Smith". A short
    form naming the passage's title (`names_title`) joins only a long form naming it too: the passage's
    subject keeps its name. Chains are followed, so every index points at an entity that points at itself.
    """
    target = list(range(len(entities)))
    # A name's long forms depend only on its surface, type and title match: a long document repeats names.
    long_forms: dict[tuple[str, str, bool], dict[str, int]] = {}
    for short, pool in enumerate(_short_form_candidates(entities, surfaces)):
        reading = (surfaces[short], entities[short].type, names_title[short])
        if reading not in long_forms:
            long_forms[reading] = {
                surfaces[long].casefold(): long
                for long in pool
                if long != short
                and entities[long].type == entities[short].type
                and _short_form_of(surfaces[short], surfaces[long], entities[short].type)
                and (names_title[long] or not names_title[short])
            }
        candidates = long_forms[reading]
        if len(candidates) == 1:
            target[short] = next(iter(candidates.values()))
    _follow_chains(target)
    return target


class LongForms:
    """Names resolved so far (in earlier sections of a long document), for a later short form to join.

    Indexed as `_short_form_candidates` indexes one document (`_long_form_keys`); a title key by the
    name the title gives its subject.
    """

    def __init__(self) -> None:
        self._index: dict[str, set[tuple[str, str]]] = defaultdict(set)  # word or acronym -> {(key, type)}

    def add(self, key: str, entity_type: str) -> None:
        """Remember a resolved entity's key."""
        for index_key in _long_form_keys(title_name(key), entity_type):
            self._index[index_key].add((key, entity_type))

    def long_form(self, name: str, entity_type: str) -> str | None:
        """Return the one remembered key of this type that `name` shortens; None for none or several."""
        pool = {entry for index_key in _short_form_keys(name, entity_type) for entry in self._index.get(index_key, ())}
        found = {
            key.casefold(): key
            for key, kind in pool
            if kind == entity_type and _short_form_of(name, title_name(key), entity_type)
        }
        return next(iter(found.values())) if len(found) == 1 else None


def resolve_document(parsed: ParsedDocument, extraction: Extraction) -> ResolvedDocument:
    """Merge short forms into long forms and one name's readings, and key the title entity by the title."""
    entities = [entity for entity in extraction.entities if entity.mentions]
    if len(entities) != len(extraction.entities):
        raise ValueError(f"document {parsed.document.id!r}: an entity without mentions")
    surfaces = [max((parsed.surface(m) for m in e.mentions), key=len) for e in entities]
    title = parsed.document.title
    names_title = [bool(title) and title_match(surface, title) >= TITLE_MATCH for surface in surfaces]
    target = _short_form_targets(entities, surfaces, names_title)
    _one_sense_per_document(entities, surfaces, target, extraction.relations)
    members_of = _members(target)
    titled = _title_entity(parsed, entities, members_of) if title else None
    if title:
        titled = _join_title_surname(entities, surfaces, target, title, titled)
    roots = sorted(set(target))
    position = {root: i for i, root in enumerate(roots)}
    members_of = _members(target)
    resolved = []
    for root in roots:
        members = members_of[root]
        mentions = tuple(sorted({m for i in members for m in entities[i].mentions}))
        forms = sorted({parsed.surface(m) for m in mentions}, key=lambda s: (-len(s), s))
        label = surfaces[root]
        key = label
        if root == titled:  # labelled by its whole title, as DBpedia does: two "John Smith"s stay apart
            label = key = title
            forms = [title_name(title), *forms]
        aliases = tuple(dict.fromkeys(form for form in forms if form != label))
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
