"""Entity resolution across the corpus, applied when the store is built: one real thing, one node.

- `corpus_merges`: a name the extractor typed differently in different documents is one node when
  the documents agree on its group by a clear margin, and a plain mention of a name joins the
  corpus's one title entity of that name and class.
- `alias_merges`: spelling variants ("Jay Z", "Jay-Z") join when their names' base-encoder vectors
  are close enough.

Both work on `NodeRecord`s read off the store (`kgbuild.rdf.sameas`) and return ``merged -> canonical`` IRIs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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


_ROMAN = re.compile(r"[ivxlcdm]+")  # also "did", "mimi": two such words that differ never pair, a lost match at worst
SPELLING_MATCH = 0.85  # least `SequenceMatcher` ratio of two words that are one word spelled two ways


def _letters(text: str) -> list[str]:
    """Words of `text` without accents, case or punctuation, in any script: "Taïeb Al-Khalifa" -> taieb, al, khalifa.

    Letters outside ASCII stay (title matching drops them), so a Greek or Cyrillic name keeps its words.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.findall(r"[^\W_]+", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _block_keys(name: str) -> set[str]:
    """Return what candidate pairs must share: a word of two letters or more, or the run-together name ("jayz")."""
    letters = _letters(name)
    return {word for word in letters if len(word) > 1} | {"".join(letters)}


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

    Two nodes are candidates when they are of one identity group other than values (dates embed
    alike), share a class and a rare name word (or the run-together name), no document mentions both,
    at most one is a title entity, and no name is common to both (same-name nodes that `corpus_merges`
    kept apart stay apart). They join when the cosine of their names' vectors (`encode`: texts to unit
    vectors) reaches `threshold`, the most similar first; the title entity, then the node in more
    documents, is canonical. Only spelling variants are compared (`spelling_variants`): an encoder puts
    "Conrad II" next to "Conrad III" and "West Sussex" next to "Sussex".
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
            for key in sorted({key for name in names[root] for key in _block_keys(name)}):
                by_word[key].append(root)
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
        ours, theirs = [row[n] for n in sorted(names[a])], [row[n] for n in sorted(names[b])]
        similarity = float((vectors[ours] @ vectors[theirs].T).max())
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
