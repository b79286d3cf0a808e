"""The ontology's words as plain strings: the one prefix table, SPARQL ``PREFIX`` lines, relation names.

Free of rdflib, so the modules `import kgbuild` loads (and `kgsearch`) can use it; the closed
namespaces of `kgbuild.rdf.namespaces` take their IRIs from `PREFIXES`, and `kgbuild.rdf.ontology`
holds the terms, classes and domain/range rules built on them.
"""

from __future__ import annotations

import json
from functools import cache

PREFIXES = {
    "kg": "https://w3id.org/kgbuild/ontology#",
    "wdt": "http://www.wikidata.org/prop/direct/",
    "conll": "https://w3id.org/kgbuild/conll04#",
    "schema": "https://schema.org/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "prov": "http://www.w3.org/ns/prov#",
}


def sparql_prefixes(*names: str) -> str:
    """Return the SPARQL ``PREFIX`` lines, one a line, of the named prefixes (all of `PREFIXES` when none is named).

    Raises:
        KeyError: a name that is not in `PREFIXES`.

    """
    return "".join(f"PREFIX {name}: <{PREFIXES[name]}>\n" for name in names or PREFIXES)


@cache
def relation_names() -> dict[str, str]:
    """Readable names of relation labels (Wikidata property ids); other labels name themselves.

    Raises:
        PackageDataError: the ontologies are missing from the installed package.

    """
    from kgbuild.settings import ontology_file

    names: dict[str, str] = json.loads(ontology_file("wikidata-relations.json").read_text(encoding="utf-8"))
    return names
