"""Entity resolution inside a document, so that one real thing is one node.

- A short form joins its long form: a later "Schneider" joins "Willi Schneider" (a person's
  surname or given name), "NATO" joins a matching acronym, when their types agree.
- One name, one thing per passage: readings of a name the extractor typed differently in one passage
  join the reading with more mentions, unless the extractor relates the two (an album and its singer).
- A passage's title entity is recognised in its own text: a mention matching the title (without
  its parenthetical disambiguator) takes the whole title as its key and label, and the name as an
  alias, so "John Smith (footballer)" and "John Smith (politician)" stay two nodes with two labels.
- Across documents, entities meet through their IRIs, which are minted from the resolved key and
  the identity group (`kgbuild.rdf.iris`): same normalised name and same group, same node.
- Across the corpus (`corpus_merges`, applied when the store is built): a name the extractor typed
  differently in different documents is one node when the documents agree on its group by a clear
  margin, and a plain mention of a name joins the corpus's one title entity of that name and class.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
        return short_words == long_words[-len(short_words) :] or short_words == long_words[: len(short_words)]
    compact = short.replace(".", "")
    return len(compact) >= 2 and compact.isupper() and compact == _acronym(long)


# Part of every document's content hash: a change to resolution rebuilds the documents it touches.
RESOLUTION_VERSION = 4
_UNTITLED_TYPES = ("TIME", "NUM")
TITLE_MATCH = 0.7  # least `title_match` score for a mention to be the passage's title entity


def _fold(text: str) -> list[str]:
    """Words of `text` without accents, case or punctuation: "Huc- Mazelet" -> ["huc", "mazelet"]."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", ascii_text.casefold())


def title_match(surface: str, title: str) -> float:
    """Score in ``[0, 1]`` how surely a mention names the subject of a passage titled `title`.

    1.0 for the same name up to accents, case, spacing and punctuation ("Huc- Mazelet Luquiens" for
    "Huc-Mazelet Luquiens"); 0.9 for a name of two or more words inside the title or containing it
    ("Mafalda of Savoy" for "Princess Mafalda of Savoy"); 0.8 for a near spelling ("Bahram Beyzaie" for
    "Bahram Beyzai"); 0.7 for the same surname with the same initial ("Joseph Bradley Story" for
    "Joe Story"); 0 otherwise.
    """
    from difflib import SequenceMatcher

    name, words = _fold(title_name(title)), _fold(surface)
    if not name or not words:
        return 0.0
    if "".join(name) == "".join(words):
        return 1.0
    if len(words) >= 2 and len(name) >= 2 and (set(words) <= set(name) or set(name) <= set(words)):
        return 0.9
    if SequenceMatcher(None, " ".join(name), " ".join(words)).ratio() >= 0.85:
        return 0.8
    if len(name) >= 2 and len(words) >= 2 and name[-1] == words[-1] and name[0][0] == words[0][0]:
        return 0.7
    return 0.0


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
    """Join the readings of one name that the extractor typed differently in one passage.

    A passage names one thing by one name ("one sense per discourse"): "Needtobreathe" read once as a
    band and once as a person is the band, the reading with more mentions (then the more confident one).
    Two readings the extractor relates to each other stay apart: the album "Elvis Presley" by Elvis Presley.
    """
    from kgbuild.rdf.iris import normalize_label

    related = {frozenset((target[r.head], target[r.tail])) for r in relations}
    readings: dict[str, list[int]] = defaultdict(list)
    for root in sorted(set(target)):
        readings[normalize_label(surfaces[root])].append(root)
    for roots in readings.values():
        if len(roots) < 2:
            continue
        weight = {
            root: (
                sum(len(entities[i].mentions) for i in range(len(target)) if target[i] == root),
                max(entities[i].confidence for i in range(len(target)) if target[i] == root),
                -root,
            )
            for root in roots
        }
        keep = max(roots, key=weight.__getitem__)
        joined = {root for root in roots if root != keep and frozenset((root, keep)) not in related}
        for index, root in enumerate(target):
            if root in joined:
                target[index] = keep


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
    _follow_chains(target)
    _one_sense_per_document(entities, surfaces, target, extraction.relations)
    roots = sorted(set(target))
    position = {root: i for i, root in enumerate(roots)}
    title = parsed.document.title
    members_of = {root: [i for i in range(len(entities)) if target[i] == root] for root in roots}
    titled = _title_entity(parsed, entities, members_of) if title else None
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


# A name's documents must favour one identity group by this factor for its other groups to join it:
# "Elvis Presley" read as a person in 7 documents and as a work in 1 is one person; "Hamilton", a
# person in 2 and a place in 2, stays a person and a place.
GROUP_MARGIN = 2.0


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What corpus-level resolution knows of an entity node of the store."""

    iri: str
    name: str  # normalised label; for a title entity, its title without the disambiguator
    group: str  # identity group: person, value or thing
    classes: frozenset[str]
    documents: frozenset[str]  # the documents that mention it
    titled: bool  # some document is about it


def corpus_merges(nodes: Iterable[NodeRecord]) -> dict[str, str]:
    """Map entity IRIs to the IRI of the node each is the same thing as; deterministic.

    Per name: when one identity group holds `GROUP_MARGIN` times the documents of each other group,
    the other groups' plain nodes join it (the extractor mistyped them). A plain node then joins the
    title entity of its name when the corpus has exactly one that shares one of its classes. Title
    entities never join anything: each is what its own passage is about. Two nodes one document
    mentions never join: the extractor told them apart there (the album "Elvis Presley" by Elvis Presley).
    """
    by_name: dict[str, list[NodeRecord]] = defaultdict(list)
    documents: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        by_name[node.name].append(node)
        documents[node.iri] |= node.documents
    merges: dict[str, str] = {}

    def root(iri: str) -> str:
        while iri in merges:
            iri = merges[iri]
        return iri

    for name in sorted(by_name):  # a node with several names takes the first merge it is offered
        if len(by_name[name]) > 1:
            for old, new in sorted(_merge_name(sorted(by_name[name], key=lambda n: n.iri)).items()):
                if old not in merges and root(new) != old and not documents[old] & documents[root(new)]:
                    merges[old] = new
                    documents[root(new)] |= documents[old]
    return {old: root(old) for old in merges}


def _merge_name(nodes: list[NodeRecord]) -> dict[str, str]:
    votes: Counter[str] = Counter()
    for node in nodes:
        votes[node.group] += len(node.documents)
    ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
    winner = ranked[0][0] if len(ranked) == 1 or ranked[0][1] >= GROUP_MARGIN * ranked[1][1] else None
    titles = [node for node in nodes if node.titled]
    plain = [node for node in nodes if not node.titled]
    target: dict[str, str] = {}
    for node in plain:
        if winner is not None and node.group != winner:
            home = next((n for n in plain if n.group == winner), None)
            candidates = [n for n in titles if n.group == winner]
            if home is None and len(candidates) == 1:
                home = candidates[0]
            if home is not None:
                target[node.iri] = home.iri
    for node in plain:
        classes = set(node.classes)
        for merged in plain:
            if target.get(merged.iri) == node.iri:
                classes |= merged.classes
        matches = [n for n in titles if n.group == node.group and n.classes & classes]
        if node.iri not in target and len(matches) == 1:
            target[node.iri] = matches[0].iri
    return target


_ROMAN = re.compile(r"[ivxlcdm]+")
SPELLING_MATCH = 0.85  # least `SequenceMatcher` ratio of two words that are one word spelled two ways


def _letters(text: str) -> list[str]:
    """Words of `text` without accents, case or punctuation, in any script (Greek numerals stay)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.findall(r"[^\W_]+", "".join(c for c in decomposed if not unicodedata.combining(c)))


def spelling_variants(first: str, second: str) -> bool:
    """Whether two names are one name spelled two ways: "Jay Z" and "Jay-Z", "Taïeb" and "Taieb".

    Their words, without accents, case and punctuation, pair up in order, each pair equal or alike
    (`SPELLING_MATCH`, same first letter); numbers and numerals must be equal ("Conrad II" is not
    "Conrad III"), and no word may be missing ("West Sussex" is not "Sussex").
    """
    from difflib import SequenceMatcher

    a, b = _letters(first), _letters(second)
    if not a or not b:
        return False
    if "".join(a) == "".join(b):
        return True
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        numeral = any(c.isdigit() for c in x + y) or (_ROMAN.fullmatch(x) and _ROMAN.fullmatch(y))
        if numeral or x[0] != y[0] or SequenceMatcher(None, x, y).ratio() < SPELLING_MATCH:
            return False
    return True


# Least cosine between two entity names' base-encoder vectors for `alias_merges` (measured on 2Wiki in
# bench/results.md); a threshold above 1 turns alias merging off.
ALIAS_THRESHOLD = 0.9
_BLOCK_LIMIT = 50  # a name word more nodes share than this proposes no pairs ("john", "river")


def alias_merges(
    nodes: Iterable[NodeRecord],
    merges: Mapping[str, str],
    encode: Callable[[list[str]], Any],
    threshold: float = ALIAS_THRESHOLD,
) -> dict[str, str]:
    """Map canonical nodes (after `merges`) to the node their name is a near-synonym of; deterministic.

    Two nodes are candidates when they are of one identity group other than values (dates embed alike),
    share a class and a rare name word, no document mentions both, at most one is a title entity, and no
    name is common to both (same-name nodes that `corpus_merges` kept apart stay apart). They join when
    the cosine of their names' vectors (`encode`: texts to unit vectors) reaches `threshold`, the most
    similar first; the title entity, then the node in more documents, is canonical. Only spelling
    variants are compared (`spelling_variants`): an encoder puts "Conrad II" next to "Conrad III" and
    "West Sussex" next to "Sussex".
    """
    import numpy as np

    members: dict[str, list[NodeRecord]] = defaultdict(list)
    for node in nodes:
        members[merges.get(node.iri, node.iri)].append(node)
    own = {root: next((n for n in group if n.iri == root), group[0]) for root, group in members.items()}
    names = {root: frozenset(n.name for n in group) for root, group in members.items()}
    documents = {root: frozenset().union(*(n.documents for n in group)) for root, group in members.items()}
    by_word: dict[str, list[str]] = defaultdict(list)
    for root in sorted(members):
        if own[root].group != "value":
            for word in sorted({w for name in names[root] for w in _words(name) if len(w) > 1}):
                by_word[word].append(root)
    pairs = sorted(
        {
            (a, b)
            for roots in by_word.values()
            if 1 < len(roots) <= _BLOCK_LIMIT
            for i, a in enumerate(roots)
            for b in roots[i + 1 :]
            if own[a].group == own[b].group
            and own[a].classes & own[b].classes
            and not (own[a].titled and own[b].titled)
            and not documents[a] & documents[b]
            and not names[a] & names[b]
            and any(spelling_variants(x, y) for x in names[a] for y in names[b])
        }
    )
    if not pairs or threshold > 1:
        return {}
    texts = sorted({name for pair in pairs for root in pair for name in names[root]})
    vectors = np.asarray(encode(texts), dtype=np.float32)
    row = {text: i for i, text in enumerate(texts)}
    scored = []
    for a, b in pairs:
        similarity = float((vectors[[row[n] for n in names[a]]] @ vectors[[row[n] for n in names[b]]].T).max())
        if similarity >= threshold:
            scored.append((-similarity, a, b))
    component = {root: root for pair in pairs for root in pair}  # root -> its canonical node
    joined: dict[str, set[str]] = {root: {root} for root in component}
    for _, a, b in sorted(scored):
        ca, cb = component[a], component[b]
        both = joined[ca] | joined[cb]
        if ca == cb or sum(own[r].titled for r in both) > 1:
            continue
        if any(documents[x] & documents[y] for x in joined[ca] for y in joined[cb]):
            continue
        keep, gone = sorted(  # the title entity, then the more documents, then the smaller IRI
            (ca, cb), key=lambda r: (not own[r].titled, -sum(len(documents[x]) for x in joined[r]), r)
        )
        joined[keep] = both
        del joined[gone]
        for root in both:
            component[root] = keep
    return {root: canonical for root, canonical in sorted(component.items()) if root != canonical}
