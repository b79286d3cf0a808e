"""How much could relation edges add if the extractor found every asked hop? An oracle, on the dev split only.

    python bench/oracle_relations.py runs/kg-2wiki --questions ../shared/data/2wiki/questions.jsonl --dev 200 \
        --graph bench/settings/2wiki-graph.json --no-relations bench/settings/2wiki-graph-no-relations.json

For each compositional and inference question, the gold passage whose title the question names is the
seed and the other gold passage is the hop; the oracle adds one relation edge, of the first property the
question's words cue forward ("director" -> P57), from the seed passage's title entity to the hop
passage's, with confidence 1. It reads the gold passages, so it is a ceiling for the walk as it is, never a
setting: it says whether a better extractor alone could lift the relation edges' gain to a given margin.
Rows: the walk without relation edges, with the extracted ones, with the extracted ones and the oracle's,
and with the oracle's alone.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from kgbuild import local_name
from kgbuild.resolution import title_name
from kgsearch.cues import parse_cue, relation_cues
from kgsearch.evaluate import Question, evaluate_rankings, read_questions
from kgsearch.graph import RELATION, TITLE, EdgeTable, SearchGraph
from kgsearch.search import Searcher
from kgsearch.settings import SearchSettings

HOP_TYPES = ("compositional", "inference")


def oracle_rows(searcher: Searcher, questions: list[Question]) -> tuple[list[tuple[int, int, int]], dict[str, int]]:
    """Return ``(seed entity, hop entity, predicate)`` rows for the questions with one seed and one hop."""
    graph = searcher.index.graph
    passage_of = {p.id: i for i, p in enumerate(searcher.index.passages)}
    predicate_of = {local_name(p): i for i, p in enumerate(graph.predicates)}
    counts = {"questions": 0, "added": 0, "no forward cue": 0, "not one seed and one hop": 0, "no title entity": 0}
    rows = []
    for question in questions:
        if question.type not in HOP_TYPES:
            continue
        counts["questions"] += 1
        named = question.question.casefold()
        titles_of = {g: title_name(searcher.index.passages[passage_of[g]].title).casefold() for g in question.gold}
        seeds = [g for g in question.gold if titles_of[g] in named]
        hops = [g for g in question.gold if g not in seeds]
        cues = [label for label, forward in map(parse_cue, relation_cues(question.question)) if forward]
        cues = [label for label in cues if label in predicate_of]
        if not cues:
            counts["no forward cue"] += 1
        elif len(seeds) != 1 or len(hops) != 1:
            counts["not one seed and one hop"] += 1
        else:
            about = [graph.typed_neighbours(passage_of[g], TITLE) for g in (seeds[0], hops[0])]
            if not all(about):
                counts["no title entity"] += 1
                continue
            rows.append((about[0][0][0], about[1][0][0], predicate_of[cues[0]]))
            counts["added"] += 1
    return rows, counts


def with_edges(searcher: Searcher, rows: list[tuple[int, int, int]], keep_extracted: bool) -> Searcher:
    """Return a searcher whose graph has the oracle's relation edges added (and the extracted ones kept or not)."""
    graph = searcher.index.graph
    edges = graph.edges
    keep = np.ones(len(edges), dtype=bool) if keep_extracted else edges.kind != RELATION
    added = EdgeTable.from_rows([(a, b, RELATION, 1.0, predicate, -1) for a, b, predicate in rows])
    joined = edges.select(keep).concat(added)
    new_graph = SearchGraph(graph.nodes, graph.passages, joined, graph.predicates)
    return Searcher(
        replace(searcher.index, graph=new_graph), searcher.encoder, searcher.settings, nlp=searcher.linker.nlp
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--questions", required=True)
    parser.add_argument("--dev", type=int, default=200, help="the first N questions (the tuning split)")
    parser.add_argument("--graph", required=True, help="settings of the graph with relation edges")
    parser.add_argument("--no-relations", required=True, help="settings of the graph without them")
    args = parser.parse_args()

    questions = read_questions(args.questions)[: args.dev]
    searcher = Searcher.open(args.kg_dir)
    rows, counts = oracle_rows(searcher, questions)
    print(json.dumps(counts))
    graph_settings = replace(
        SearchSettings.from_json(json.loads(Path(args.graph).read_text())), dense_weight=0.0, lexical_weight=0.0
    )
    plain = replace(
        SearchSettings.from_json(json.loads(Path(args.no_relations).read_text())),
        use_relations=False,
        dense_weight=0.0,
        lexical_weight=0.0,
    )
    reads = {q.id: searcher.read(q.question, dense=True) for q in questions}
    runs = {
        "graph without relation edges": searcher.with_settings(**plain.to_json()),
        "graph with relation edges": searcher.with_settings(**graph_settings.to_json()),
        "extracted + oracle edges": with_edges(searcher, rows, True).with_settings(**graph_settings.to_json()),
        "oracle edges alone": with_edges(searcher, rows, False).with_settings(**graph_settings.to_json()),
    }
    print("| walk | R@2 | R@5 | " + " | ".join(f"{t} R@2" for t in HOP_TYPES) + " |")
    print("| --- | --- | --- |" + " --- |" * len(HOP_TYPES))
    for name, run in runs.items():
        report = evaluate_rankings(
            questions, lambda q, run=run: [h.passage.id for h in run.rank(reads[q.id], 10, explain=False).hits], (2, 5)
        )
        cells = [report["all"]["R@2"], report["all"]["R@5"], *(report[t]["R@2"] for t in HOP_TYPES)]
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
