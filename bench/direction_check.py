"""What the asymmetric-direction check (`ontologies/wikidata-axioms.ttl`) does to relations scored with gold entities.

    python bench/direction_check.py models/wikidata-all --data runs/redocred-dev-last50.json \
        --labels P22,P25,P40,P131,P150,P361,P527

Extracts relations with the gold entities given, then scores them as predicted and after the check
drops each triple that states an asymmetric relation the other way round from a more confident one
of its document (what `kgbuild extract` writes): micro precision, recall and F1, and per label.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--labels", default="P22,P25,P40")
    args = parser.parse_args()

    import torch
    from rdflib import URIRef

    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.evaluate import index_items, score
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.rdf.graph import outweighed, predicate

    torch.set_num_threads(args.threads)
    examples = read_examples(args.data)
    extractor = RelationExtractor.load(args.model)
    texts = [x.text for x in examples]
    predicted = extractor.extract(texts, gold_entities=[x.entities for x in examples])
    checked = []
    for extraction in predicted:
        relations = extraction.relations
        triples = [(URIRef(str(r.head)), predicate(r.label), URIRef(str(r.tail)), r.confidence) for r in relations]
        dropped = outweighed(triples)
        checked.append([r for i, r in enumerate(relations) if i not in dropped])
    gold = [index_items(x.relations) for x in examples]
    result = {"data": args.data, "model": args.model, "documents": len(examples)}
    for name, relations in (("as predicted", [p.relations for p in predicted]), ("direction-checked", checked)):
        report = score(gold, (index_items(r) for r in relations))
        result[name] = {
            "triples": sum(len(r) for r in relations),
            "micro": {k: round(v, 2) for k, v in report["micro"].items()},
            **{label: report["per_label"].get(label, {}) for label in args.labels.split(",")},
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
