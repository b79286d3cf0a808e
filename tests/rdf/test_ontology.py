import ast
from pathlib import Path

import pytest

from kgbuild import IriMinter, document_id, local_name, parse_iri, sparql_prefixes
from kgbuild.rdf.namespaces import CONLL, KG, WDT
from kgbuild.rdf.ontology import entity_class, identity_group, predicate
from kgbuild.rdf.vocabulary import PREFIXES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("base", ["https://w3id.org/kgbuild/resource/", "http://example.org/kg#", "http://x.org/doc/"])
def test_every_minted_iri_parses_back_into_its_base_kind_and_local_part(base):
    minter = IriMinter(base)
    minted = {
        "doc": minter.document("a/b c#1"),
        "entity": minter.entity("Émile Zola", "person"),
        "statement": minter.statement("g", "s", "p", "o", (1, 2, 3, 4)),
        "model": minter.model("wikidata", "1"),
        "run": minter.run("2026-12-05T00:00:00", "corpus.jsonl"),
        "graph": minter.resolution_graph(),
    }
    for kind, iri in minted.items():
        parsed = parse_iri(iri)
        assert (parsed.base, parsed.kind) == (base, kind)
        assert iri == f"{parsed.base}{parsed.kind}/{parsed.local}"
    assert document_id(minted["doc"]) == "a/b c#1"


def test_a_foreign_iri_is_refused_by_name():
    with pytest.raises(ValueError, match=r"example\.org/thing"):
        parse_iri("http://example.org/thing")
    with pytest.raises(ValueError, match="not a document IRI"):
        document_id(IriMinter().entity("Rome", "thing"))


def test_local_names_of_wikidata_and_conll_properties():
    assert local_name(str(WDT.P25)) == "P25"
    assert local_name(str(CONLL.kill)) == "kill"


def test_the_prefix_table_is_the_namespaces_and_its_lines_parse():
    from rdflib import OWL, RDF, RDFS, XSD
    from rdflib.namespace import PROV, SDO
    from rdflib.plugins.sparql import prepareQuery

    assert (PREFIXES["kg"], PREFIXES["wdt"], PREFIXES["conll"]) == (str(KG), str(WDT), str(CONLL))
    written_by_rdflib = {"schema": SDO, "rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD, "prov": PROV}
    assert {name: PREFIXES[name] for name in written_by_rdflib} == {k: str(v) for k, v in written_by_rdflib.items()}
    assert sparql_prefixes("kg", "rdfs") == f"PREFIX kg: <{KG}>\nPREFIX rdfs: <{PREFIXES['rdfs']}>\n"
    prepareQuery(sparql_prefixes() + "SELECT ?s WHERE { ?s a kg:Person ; wdt:P19 ?p ; schema:name ?n }")
    with pytest.raises(KeyError):
        sparql_prefixes("kgg")


def test_classes_groups_and_properties_of_extractor_labels():
    assert entity_class("Peop") == entity_class("PER") == KG.Person
    assert entity_class("unknown") == KG.Entity
    assert identity_group("LOC") == identity_group("ORG") == "thing" and identity_group("TIME") == "value"
    assert predicate("Kill") == CONLL.kill and predicate("P25") == WDT.P25
    with pytest.raises(KeyError, match="P0"):
        predicate("P0")


def _imports() -> dict[str, set[str]]:
    """Every import (module level or inside a function, not type-checking only) between the packages' modules."""
    modules = {}
    for path in [*ROOT.glob("kgbuild/**/*.py"), *ROOT.glob("kgsearch/**/*.py")]:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {  # `if TYPE_CHECKING:` imports never run: no loop at run time
            id(inner)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
            for inner in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        # A package's __init__ re-exports its modules: importing the public names is not a loop.
        graph[name] = {t for t in targets & modules.keys() if t != name and t not in ("kgbuild", "kgsearch")}
    return graph


def test_no_module_imports_itself_through_others():
    graph = _imports()
    loops = []
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for target in graph[node]:
                if target == start:
                    loops.append(" -> ".join((*path, start)))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, (*path, target)))
    assert not loops, loops[0]
