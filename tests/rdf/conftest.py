"""A tiny knowledge-graph directory written straight as N-Quads (no model, no alias merging)."""

from pathlib import Path

import pytest

from kgbuild.rdf.store import KnowledgeGraphDir

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
# Five copies of the graph's triples joined pairwise: 60^5 rows to count, minutes of work.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"


def write_tiny_kg(path: Path, documents: int = 3, entities: int = 19) -> Path:
    """Write `documents` named graphs of `entities` labelled entities each, plus a "Secret Service" literal."""
    kg = KnowledgeGraphDir(path, create=True)
    kg.configure_resolution(2.0, "none")  # above 1: no alias merges, so no encoder is loaded
    for d in range(documents):
        graph = f"<https://example.org/kg/doc/d{d}>"
        lines = [
            f'<https://example.org/kg/entity/e{d}_{i}> <{LABEL}> "entity {d} {i}" {graph} .' for i in range(entities)
        ]
        lines.append(f'<https://example.org/kg/entity/e{d}_0> <https://example.org/p> "Secret Service" {graph} .')
        kg.write_document(f"d{d}", "digest", "\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny_kg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny graph shared by a module's tests (which must not change it)."""
    return write_tiny_kg(tmp_path_factory.mktemp("kg") / "kg")
