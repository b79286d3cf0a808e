"""Validate a knowledge graph against the SHACL shapes in ``ontologies/shapes.ttl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHAPES = Path(__file__).resolve().parent.parent.parent / "ontologies" / "shapes.ttl"


def validate(dataset: Any, shapes: Path = SHAPES) -> tuple[bool, str]:
    """Check the union of all named graphs against the shapes; return (conforms, report text)."""
    from pyshacl import validate as shacl_validate
    from rdflib import Graph

    union = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        union.add((s, p, o))
    shapes_graph = Graph().parse(shapes, format="turtle")
    conforms, _, text = shacl_validate(union, shacl_graph=shapes_graph, inference="none", advanced=False)
    return bool(conforms), str(text)
