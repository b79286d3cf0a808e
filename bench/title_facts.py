"""How many of a passage's relations reach its subject (the title entity), under two resolution rules.

A 2Wiki question walks from a passage's subject: "Where was Ayumi Hamasaki born?" needs the edge
``Ayumi Hamasaki -place of birth-> Fukuoka``. An edge the extractor found but resolution left on a
separate "Hamasaki" node is lost to search. This reads the gold passages of the tuning questions
once with the extractor, resolves each twice (resolution version 6, without the lone-surname join,
and the current rules) and counts the subject's relations by property.

    python bench/title_facts.py --questions ../shared/data/2wiki/questions.jsonl --limit 200 --json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = ("P19", "P20", "P22", "P25", "P26", "P40", "P3373", "P27", "P57", "P569", "P570")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared/data/2wiki/corpus.jsonl"))
    parser.add_argument("--questions", default=str(ROOT.parent / "shared/data/2wiki/questions.jsonl"))
    parser.add_argument("--limit", type=int, default=200, help="the first N questions (the tuning split)")
    parser.add_argument("--model", default="wikidata-all")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    import kgbuild.resolution as resolution
    from kgbuild import RelationExtractor, SpacyParser, extract_documents, read_corpus
    from kgbuild.settings import resolve_model_dir

    torch.set_num_threads(args.threads)
    with open(args.questions, encoding="utf-8") as lines:
        questions = [json.loads(line) for line in lines][: args.limit]
    wanted = {passage for question in questions for passage in question["gold"]}
    documents = [d for d in read_corpus(args.corpus) if getattr(d, "id", None) in wanted]
    extractor = RelationExtractor.load(resolve_model_dir(args.model))
    read = list(extract_documents(documents, extractor, SpacyParser()))
    current = resolution._join_title_surname
    counts = {}
    for name, rule in (("version 6", lambda entities, surfaces, target, title, titled: titled), ("current", current)):
        resolution._join_title_surname = rule  # type: ignore[assignment]
        by_property: Counter[str] = Counter()
        subjects = 0
        for found in read:
            resolved = resolution.resolve_document(found.parsed, found.extraction)
            title = found.parsed.document.title
            subject = next((i for i, e in enumerate(resolved.entities) if e.key == title), None)
            if subject is None:
                continue
            subjects += 1
            for relation in resolved.relations:
                if subject in (relation.head, relation.tail):
                    by_property[relation.label] += 1
        counts[name] = {
            "passages_with_a_subject": subjects,
            "subject_relations": sum(by_property.values()),
            **{label: by_property[label] for label in PROPERTIES},
        }
    resolution._join_title_surname = current
    report = {"model": args.model, "questions": len(questions), "passages": len(read), "counts": counts}
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
