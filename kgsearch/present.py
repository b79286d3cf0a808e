"""How a search result reads in the app: questions cut to size, scores, cues in words, mentions, passages, paths.

Every function here is plain: `app.py` calls them and puts what they return into widgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from kgbuild import relation_names
from kgsearch.cues import parse_cue
from kgsearch.explore import highlight
from kgsearch.records import Hop, LinkedMention, SearchHit
from kgsearch.search import MAX_QUESTION_CHARS

PASSAGE_CHARS = 320  # a collapsed passage shows about three lines of a wide screen
COMMON_SHARE = 0.03  # an entity found in at least this share of the passages is very common ...
COMMON_PASSAGES = 4  # ... and in at least this many (a tiny graph has no very common entity)
QUESTION, ENTITY, PASSAGE = "question", "entity", "passage"


def fit_question(question: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, str]:
    """Cut an overlong question to `limit` characters at a word boundary; return it and a note ("" if whole)."""
    question = question.strip()
    if len(question) <= limit:
        return question, ""
    cut = question[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    note = (
        f"The question has {len(question)} characters; at most {limit} are searched, "
        f"so it was cut after {cut[-40:].strip()!r}."
    )
    return cut.strip(), note


def score_line(hit: SearchHit) -> str:
    """Put a hit's true scores on one compact line, and the fused score that ranks it (relative to the best hit)."""
    dense = "not computed" if hit.dense_score is None else f"{hit.dense_score:.3f}"
    return (
        f"walk mass {hit.graph_score:.4f} · dense cosine {dense} · BM25 {hit.lexical_score:.2f} · "
        f"fused {hit.score:.3f} (scaled to this question's best)"
    )


def cue_names(cues: Sequence[str]) -> list[str]:
    """Name relation cues in words: ``P25`` -> "mother", ``^P40`` -> "child (reversed)", both ways -> "(either way)"."""
    names = relation_names()
    ways: dict[str, set[bool]] = {}
    for cue in cues:
        label, forward = parse_cue(cue)
        ways.setdefault(label, set()).add(forward)
    words = []
    for label, directions in ways.items():
        name = names.get(label, label)
        if len(directions) == 2:
            words.append(f"{name} (either way)")
        else:
            words.append(name if True in directions else f"{name} (reversed)")
    return words


def mention_lines(mentions: Sequence[LinkedMention]) -> list[str]:
    """One Markdown line per linked span of the question: the span once, each node it links to once, with how."""
    spans: dict[tuple[int, int], tuple[str, dict[str, list[str]]]] = {}
    for mention in mentions:
        _, targets = spans.setdefault((mention.start, mention.end), (mention.text, {}))
        hows = targets.setdefault(mention.label, [])
        if mention.how not in hows:
            hows.append(mention.how)
    return [
        f"**{highlight(text, [])}** → "
        + ", ".join(f"{highlight(label, [])} ({', '.join(hows)})" for label, hows in targets.items())
        for text, targets in spans.values()
    ]


def where_error(pattern: str, message: str) -> str:
    """Say a `--where` error in terms of the pattern the user typed, not of the query it was wrapped in."""
    import re

    from kgsearch.where import WHERE_START

    detail = message.split(": ", 1)[1] if message.startswith("--where pattern") else message
    wrapped = len(WHERE_START)
    found = re.search(r"\(at char (\d+)\),? \(line:\d+, col:\d+\)", detail)
    if found:
        position = int(found.group(1)) - wrapped
        detail = detail[: found.start()].rstrip()
        if 0 <= position <= len(pattern):
            detail += f" at character {position + 1} of the pattern (“{pattern[position : position + 20]}”)"
    detail = detail.replace("Expected SelectQuery, found", "unexpected")
    return f"The pattern {pattern!r} cannot be used: {detail}"


def clip(text: str, limit: int | None = None) -> tuple[str, str]:
    """Split a passage into what shows collapsed (ending at a sentence or word) and the rest ("" if short).

    Args:
        limit: characters shown collapsed, about; `PASSAGE_CHARS` when None.

    """
    limit = limit or PASSAGE_CHARS
    if len(text) <= limit * 5 // 4:
        return text, ""
    head = text[:limit]
    end = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
    cut = end + 1 if end > limit // 2 else max(head.rfind(" "), limit // 2)
    return text[:cut].rstrip(), text[cut:].lstrip()


@dataclass(frozen=True, slots=True)
class Step:
    """One hop of a path as it reads: from `source` to `target` in the walk's order, said in `words`.

    ``reverse`` is True where what the words say points the other way (the walk went from a child to its
    parent through a "child" triple, or from a passage to an entity it mentions); ``undirected`` where
    the link has no direction (similar names).
    """

    source: str
    source_label: str
    source_kind: str
    target: str
    target_label: str
    target_kind: str
    words: str
    reverse: bool = False
    undirected: bool = False
    sentence: str = ""


def path_steps(hit: SearchHit, subjects: Mapping[str, str]) -> tuple[Step, ...]:
    """Read a hit's path as steps, each node typed (question span, entity or passage) and each edge the right way.

    Args:
        subjects: a triple's subject by its statement IRI (`GraphExplorer.statement_subjects`): a relation
            hop the walk took from object to subject reads backwards.

    """
    kinds = _node_kinds(hit)
    steps = []
    for hop in hit.path:
        source_kind, target_kind = kinds[hop.source if hop.kind != "mention" else ""], kinds[hop.target]
        if hop.kind == "mention":
            source_kind = QUESTION
        words, reverse, undirected = _words(hop, source_kind, subjects)
        step = Step(hop.source, hop.source_label, source_kind, hop.target, hop.target_label, target_kind, words)
        steps.append(replace(step, reverse=reverse, undirected=undirected, sentence=hop.sentence))
    return tuple(steps)


def _node_kinds(hit: SearchHit) -> dict[str, str]:
    """Entity or passage for each node of a path, read back from the hit's passage at its end."""
    kinds = {"": QUESTION}
    if hit.path:
        kinds[hit.path[-1].target] = PASSAGE
    for hop in reversed(hit.path):
        kinds.setdefault(hop.target, ENTITY)
        if hop.kind in ("title", "mentioned_in", "name"):  # one end a passage, the other an entity
            kinds.setdefault(hop.source, ENTITY if kinds[hop.target] == PASSAGE else PASSAGE)
        elif hop.kind == "text":  # a passage names the entity after a cue word
            kinds.setdefault(hop.source, PASSAGE)
        elif hop.kind != "mention":
            kinds.setdefault(hop.source, ENTITY)
    return kinds


def _words(hop: Hop, source_kind: str, subjects: Mapping[str, str]) -> tuple[str, bool, bool]:
    if hop.kind == "mention":
        return "names", False, False
    if hop.kind == "relation":
        return hop.predicate_label, subjects.get(hop.statement, hop.source) != hop.source, False
    if hop.kind == "mentioned_in":  # entity -mentioned in-> passage
        return "mentioned in", source_kind == PASSAGE, False
    if hop.kind == "title":  # passage -about-> entity
        return "about", source_kind == ENTITY, False
    if hop.kind == "name":
        return "same name", False, True
    if hop.kind == "text":  # passage -"composed" in its text-> entity
        return f"“{hop.predicate_label}” in its text", False, False
    return "similar name", False, True


def _node_text(label: str, kind: str) -> str:
    if kind == QUESTION:
        return f"“{highlight(label, [])}”"
    if kind == PASSAGE:
        return f"passage *{highlight(label, [])}*"
    return f"**{highlight(label, [])}**"


def chain(steps: Sequence[Step]) -> str:
    """Write a path as one Markdown line: “span” —names→ **entity** —mother→ **entity** ←about— passage *title*."""
    if not steps:
        return ""
    parts = [_node_text(steps[0].source_label, steps[0].source_kind)]
    for step in steps:
        words = highlight(step.words, [])
        arrow = f" —{words}— " if step.undirected else f" ←{words}— " if step.reverse else f" —{words}→ "
        parts += [arrow, _node_text(step.target_label, step.target_kind)]
    return "".join(parts)


_NODE_STYLE = {
    QUESTION: 'shape=ellipse, style=filled, fillcolor="#ffd479"',
    ENTITY: 'shape=box, style="rounded,filled", fillcolor="#eef3fb"',
    PASSAGE: 'shape=note, style=filled, fillcolor="#e7f5e4"',
}


def explanation_dot(steps: Sequence[Step], title: str = "") -> str:
    """Graphviz DOT of a path: question spans as ellipses, entities as rounded boxes, passages as notes.

    Edges follow the walk from left to right; an arrow points the way its words read (``dir=back`` where
    the walk went against it). Node labels wrap, so that long paths stay legible.
    """
    lines = ["digraph {", "rankdir=LR;", 'node [fontsize=12]; edge [fontsize=10, color="#555555"];']
    if not steps:
        lines.append(f'"p" [label="{_quote(_wrap(title))}", {_NODE_STYLE[PASSAGE]}];')
    for step in steps:
        source = f"q:{step.source}" if step.source_kind == QUESTION else step.source
        ends = ((source, step.source_label, step.source_kind), (step.target, step.target_label, step.target_kind))
        for node, label, kind in ends:
            lines.append(f'"{_quote(node)}" [label="{_quote(_wrap(label))}", {_NODE_STYLE[kind]}];')
        direction = ", dir=none" if step.undirected else ", dir=back" if step.reverse else ""
        lines.append(f'"{_quote(source)}" -> "{_quote(step.target)}" [label="{_quote(step.words)}"{direction}];')
    return "\n".join([*lines, "}"])


def _wrap(label: str, width: int = 22) -> str:
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines) or label


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def relation_chart(counts: Sequence[tuple[str, int]]) -> dict[str, object]:
    """Vega-Lite spec of a horizontal bar per relation, most triples on top, with whole relation names."""
    return {
        "data": {"values": [{"relation": name, "triples": count} for name, count in counts]},
        "mark": {"type": "bar"},
        "height": {"step": 20},
        "encoding": {
            "x": {"field": "triples", "type": "quantitative", "axis": {"tickMinStep": 1, "format": "d"}},
            "y": {
                "field": "relation",
                "type": "nominal",
                "sort": "-x",
                "title": None,
                "axis": {"labelLimit": 400, "labelOverlap": False},
            },
        },
    }


def common_entities(steps: Sequence[Step], passage_counts: Mapping[str, int], passages: int) -> tuple[str, ...]:
    """Labels of the entities a path passes through, if every one is very common; () otherwise.

    A hit reached only through "American", "1946" or "eight" is weak evidence: such entities are
    mentioned in a large share of the passages (`COMMON_SHARE`, and at least `COMMON_PASSAGES`).

    Args:
        passage_counts: the number of passages each entity is mentioned in, by IRI.
        passages: the number of passages in the graph.

    """
    floor = max(COMMON_PASSAGES, COMMON_SHARE * passages)
    entities = {s.target: s.target_label for s in steps if s.target_kind == ENTITY}
    if not entities or any(passage_counts.get(iri, 0) < floor for iri in entities):
        return ()
    return tuple(entities.values())
