"""Validate a knowledge graph against the SHACL shapes in ``kgbuild/ontologies/shapes.ttl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def validate(dataset: Any, shapes: Path | None = None) -> tuple[bool, str]:
    """Check the union of all named graphs against the shapes (default: the shipped ones); return (conforms, report).

    Raises:
        PackageDataError: no `shapes` given and the shipped shapes are missing.

    """
    from pyshacl import validate as shacl_validate
    from rdflib import Graph

    from kgbuild.settings import ontology_file

    shapes_graph = Graph().parse(shapes or ontology_file("shapes.ttl"), format="turtle")
    union = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        union.add((s, p, o))
    conforms, _, text = shacl_validate(union, shacl_graph=shapes_graph, inference="none", advanced=False)
    return bool(conforms), str(text)
