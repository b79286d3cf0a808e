"""Compare rdflib's in-memory store with the on-disk Oxigraph store (through oxrdflib), same run.

A synthetic graph shaped like kgbuild's output (typed, labelled entities, relation edges, one named
graph per document) is loaded into both; each query's figure is the median of ``--repeats`` runs.

    python bench/store_speed.py --triples 200000 --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time

KG = "https://w3id.org/kgbuild/ontology#"
RES = "https://w3id.org/kgbuild/resource/"
TWO_HOP = f"""SELECT ?b ?c WHERE {{ GRAPH ?g1 {{ <{RES}entity/e0> ?p ?b }} GRAPH ?g2 {{ ?b ?q ?c }} }}"""
FILTER = f"""SELECT ?e WHERE {{ GRAPH ?g {{ ?e a <{KG}Person> ; <http://www.w3.org/2000/01/rdf-schema#label> ?l }}
  FILTER(CONTAINS(LCASE(STR(?l)), "smith 1")) }}"""


def synthetic_nquads(triples: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    entities = max(triples // 8, 10)
    lines = []
    classes = ["Person", "Organization", "Location", "Miscellaneous"]
    for i in range(entities):
        graph = f"<{RES}doc/d{i // 5}>"
        node = f"<{RES}entity/e{i}>"
        lines.append(f"{node} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{KG}{classes[i % 4]}> {graph} .")
        lines.append(f'{node} <http://www.w3.org/2000/01/rdf-schema#label> "smith {i}" {graph} .')
    while len(lines) < triples:
        a, b = rng.randrange(entities), rng.randrange(entities)
        prop = f"<http://www.wikidata.org/prop/direct/P{rng.choice([17, 19, 27, 131, 569])}>"
        lines.append(f"<{RES}entity/e{a}> {prop} <{RES}entity/e{b}> <{RES}doc/d{a // 5}> .")
    return "\n".join(lines) + "\n"


def timed(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import pyoxigraph
    from oxrdflib.store import OxigraphStore
    from rdflib import Dataset

    data = synthetic_nquads(args.triples)
    result: dict[str, float | int] = {"triples": args.triples, "repeats": args.repeats}

    start = time.perf_counter()
    memory = Dataset()
    memory.parse(data=data, format="nquads")
    result["rdflib_memory_load_s"] = round(time.perf_counter() - start, 2)

    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        store = pyoxigraph.Store(directory + "/store")
        store.bulk_load(data.encode(), format=pyoxigraph.RdfFormat.N_QUADS)
        store.flush()
        result["oxigraph_disk_bulk_load_s"] = round(time.perf_counter() - start, 2)
        oxigraph = Dataset(store=OxigraphStore(store=store))
        for name, query in (("two_hop", TWO_HOP), ("type_label_filter", FILTER)):
            answers = {len(list(memory.query(query))), len(list(oxigraph.query(query)))}
            assert len(answers) == 1, f"{name}: the stores disagree ({answers})"
            result[f"{name}_rdflib_memory_ms"] = round(
                1000 * timed(lambda q=query: list(memory.query(q)), args.repeats), 2
            )
            result[f"{name}_oxigraph_ms"] = round(
                1000 * timed(lambda q=query: list(oxigraph.query(q)), args.repeats), 2
            )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>34}: {value}")


if __name__ == "__main__":
    main()
