"""Read relation-extraction data: the CoNLL04 JSON format and Re-DocRED's, detected from the file.

CoNLL04 format (also the format for a user's own schema), a JSON array or JSON Lines of::

    {"tokens": [...], "entities": [[start, end, type], ...],
     "relations": [[head_start, head_end, tail_start, tail_end, label], ...]}

Re-DocRED format, a JSON array of::

    {"title": ..., "sents": [[word, ...], ...],
     "vertexSet": [[{"pos": [start, end], "sent_id": i, "type": ..., "name": ...}, ...], ...],
     "labels": [{"h": entity, "t": entity, "r": "P17", "evidence": [...]}, ...]}
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kgbuild.errors import DataFormatError
from kgbuild.records import EntityAnnotation, Example, RelationAnnotation, Span, TokenizedText


def read_examples(path: str | Path) -> list[Example]:
    """Read a CoNLL04-style or Re-DocRED file into examples.

    Raises:
        DataFormatError: the file is missing, not JSON, or a row is malformed; the message
            names the file and the line of the offending row.

    """
    path = Path(path)
    examples: list[Example] = []
    for line, row in _rows(path):
        try:
            examples.append(_parse_row(row, default_id=f"{path.stem}-{len(examples)}"))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise DataFormatError(f"{path}:{line}: malformed row: {error}") from error
    if not examples:
        raise DataFormatError(f"{path}: no examples found")
    return examples


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, decoded row)`` from a JSON array or a JSON Lines file."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise DataFormatError(f"{path}: no such file") from error
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from error
    decoder = json.JSONDecoder()
    stripped = content.lstrip()
    if stripped.startswith("["):
        position = content.index("[") + 1
        while True:
            position = _skip_space(content, position)
            if position < len(content) and content[position] == "]":
                return
            line = content.count("\n", 0, position) + 1
            try:
                row, position = decoder.raw_decode(content, position)
            except json.JSONDecodeError as error:
                raise DataFormatError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from error
            yield line, row
            position = _skip_space(content, position)
            if position < len(content) and content[position] == ",":
                position += 1
            elif position >= len(content) or content[position] != "]":
                line = content.count("\n", 0, position) + 1
                raise DataFormatError(f"{path}:{line}: expected ',' or ']' between rows")
    else:
        for number, text in enumerate(content.splitlines(), start=1):
            if text.strip():
                try:
                    yield number, json.loads(text)
                except json.JSONDecodeError as error:
                    raise DataFormatError(f"{path}:{number}: invalid JSON: {error.msg}") from error


def _skip_space(content: str, position: int) -> int:
    while position < len(content) and content[position].isspace():
        position += 1
    return position


def _parse_row(row: Any, default_id: str) -> Example:
    if not isinstance(row, dict):
        raise TypeError(f"expected an object, got {type(row).__name__}")
    if "vertexSet" in row:
        return _parse_docred(row, default_id)
    if "tokens" in row:
        return _parse_conll(row, default_id)
    raise KeyError("neither 'tokens' (CoNLL04 format) nor 'vertexSet' (Re-DocRED format)")


def _check_span(start: Any, end: Any, length: int) -> Span:
    if not (isinstance(start, int) and isinstance(end, int)):
        raise TypeError(f"span offsets must be integers, got [{start!r}, {end!r}]")
    if not 0 <= start < end <= length:
        raise ValueError(f"span [{start}, {end}] out of range for {length} tokens")
    return Span(start, end)


def _check_tokens(tokens: Any) -> tuple[str, ...]:
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise TypeError("'tokens' must be a non-empty list of strings")
    return tuple(tokens)


def _parse_conll(row: dict[str, Any], default_id: str) -> Example:
    tokens = _check_tokens(row["tokens"])
    entities: list[EntityAnnotation] = []
    index: dict[Span, int] = {}
    for start, end, entity_type in row.get("entities", []):
        span = _check_span(start, end, len(tokens))
        if span not in index:
            index[span] = len(entities)
            entities.append(EntityAnnotation((span,), str(entity_type)))
    relations: list[RelationAnnotation] = []
    for head_start, head_end, tail_start, tail_end, label in row.get("relations", []):
        head = _check_span(head_start, head_end, len(tokens))
        tail = _check_span(tail_start, tail_end, len(tokens))
        if head not in index or tail not in index:
            raise ValueError(f"relation {label!r} refers to a span that is not an entity")
        relations.append(RelationAnnotation(index[head], index[tail], str(label)))
    text = TokenizedText(tokens, (0,), str(row.get("id", default_id)))
    return Example(text, tuple(entities), tuple(dict.fromkeys(relations)))


def _parse_docred(row: dict[str, Any], default_id: str) -> Example:
    sentences = row["sents"]
    if not isinstance(sentences, list) or not sentences:
        raise TypeError("'sents' must be a non-empty list of token lists")
    offsets = [0]
    for sentence in sentences:
        offsets.append(offsets[-1] + len(_check_tokens(sentence)))
    tokens = tuple(token for sentence in sentences for token in sentence)
    entities = []
    for vertex in row["vertexSet"]:
        if not vertex:
            raise ValueError("an entity in 'vertexSet' has no mentions")
        mentions = []
        for mention in vertex:
            sentence_id = mention["sent_id"]
            if not 0 <= sentence_id < len(sentences):
                raise ValueError(f"sent_id {sentence_id} out of range")
            start, end = mention["pos"]
            span = _check_span(start, end, len(sentences[sentence_id]))
            mentions.append(Span(span.start + offsets[sentence_id], span.end + offsets[sentence_id]))
        entities.append(EntityAnnotation(tuple(sorted(set(mentions))), str(vertex[0]["type"])))
    relations = []
    for label in row.get("labels", []):
        head, tail = label["h"], label["t"]
        if not (0 <= head < len(entities) and 0 <= tail < len(entities)):
            raise ValueError(f"relation {label['r']!r} refers to entity {head} or {tail} out of range")
        evidence = tuple(sorted({int(sentence) for sentence in label.get("evidence") or ()}))
        if any(not 0 <= sentence < len(sentences) for sentence in evidence):
            raise ValueError(f"relation {label['r']!r} has evidence sentences out of range: {list(evidence)}")
        relations.append(RelationAnnotation(head, tail, str(label["r"]), evidence))
    text = TokenizedText(tokens, tuple(offsets[:-1]), str(row.get("title", default_id)))
    return Example(text, tuple(entities), tuple(dict.fromkeys(relations)))


def label_sets(examples: list[Example]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the sorted entity types and relation labels used in `examples`."""
    entity_types = sorted({entity.type for example in examples for entity in example.entities})
    labels = sorted({relation.label for example in examples for relation in example.relations})
    return tuple(entity_types), tuple(labels)


def relation_signatures(examples: list[Example]) -> tuple[tuple[str, str, str], ...]:
    """Return the sorted ``(label, head type, tail type)`` combinations used in `examples`."""
    return tuple(
        sorted({(r.label, x.entities[r.head].type, x.entities[r.tail].type) for x in examples for r in x.relations})
    )


CONVERSE_SUPPORT = 20  # a label needs this many training triples before its converse is trusted
CONVERSE_SHARE = 0.95  # and this share of them stated the other way round too


def relation_converses(
    examples: list[Example], support: int = CONVERSE_SUPPORT, share: float = CONVERSE_SHARE
) -> tuple[tuple[str, str], ...]:
    """Return the sorted ``(label, converse)`` pairs the data always states both ways.

    ``(r, c)`` is kept where at least `share` of the `support` or more ``(h, r, t)`` triples of `examples`
    come with ``(t, c, h)``: "X father Y" with "Y child X", "X spouse Y" with "Y spouse X" (``c == r``),
    "X part of Y" with "Y has part X". A triple implies its converse, not the other way round: a child
    is a father's or a mother's.
    """
    counts: Counter[str] = Counter()
    together: Counter[tuple[str, str]] = Counter()
    for example in examples:
        by_pair: dict[tuple[int, int], set[str]] = {}
        for relation in example.relations:
            by_pair.setdefault((relation.head, relation.tail), set()).add(relation.label)
        for (head, tail), labels in by_pair.items():
            for label in labels:
                counts[label] += 1
                for converse in by_pair.get((tail, head), ()):
                    together[label, converse] += 1
    kept = [(label, converse) for (label, converse), count in together.items() if count >= share * counts[label]]
    return tuple(sorted(pair for pair in kept if counts[pair[0]] >= support))
