"""A search limited by a SPARQL pattern: ``--where '?passage kg:mentions ?x . ?x a schema:Person'``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kgbuild import sparql_prefixes
from kgsearch.errors import QueryError

_WHERE_PREFIXES = sparql_prefixes("kg", "wdt", "conll", "schema", "rdf", "rdfs")
WHERE_START = _WHERE_PREFIXES + "SELECT DISTINCT ?passage WHERE { "  # what comes before the user's pattern


def where_query(where: str) -> str:
    """Return the query a `--where` pattern runs as: the selection of ``?passage`` under the graph's prefixes."""
    return f"{WHERE_START}{where} }}"


def matching_passages(
    where: str, passages: int, passage_of_iri: Mapping[str, int], store: Callable[[], Any], runner: Any = None
) -> Any:
    """Boolean mask of the passages whose graph matches the SPARQL pattern `where` (binding ``?passage``).

    Args:
        passages: how many passages the index holds: the mask has one entry per passage.
        passage_of_iri: each passage's index by its document IRI.
        store: returns the graph's read-only store, called only where no runner is given.
        runner: a `kgbuild.QueryRunner` to evaluate the pattern in (time-limited); None: this process.

    Raises:
        QueryError: the pattern does not use ``?passage``, is not read-only, or does not parse; with a
            runner, it ran past the time limit, the runner was busy, or its row limit cut the matches.

    """
    import numpy as np

    from kgbuild import KgBuildError, check_read_only

    if "?passage" not in where:
        raise QueryError(f"--where pattern must bind ?passage (the passage's document), got {where!r}")
    query = where_query(where)
    try:
        checked = check_read_only(query)  # refused from the parsed pattern: SERVICE, sub-queries included
        if runner is not None:
            result = runner.run(checked.text)
            if result.cut:
                raise QueryError(f"more than {result.row_limit} passages match; the runner's row limit cut them")
            matched = {row[0].value for row in result.rows if row[0] is not None}
        else:
            rows = store().query(checked.text, use_default_graph_as_union=True)
            matched = {row["passage"].value for row in rows if row["passage"] is not None}
    except (KgBuildError, SyntaxError, ValueError, OSError) as error:
        raise QueryError(f"--where pattern {where!r}: {error}") from None
    mask = np.zeros(passages, dtype=bool)
    for iri in matched:
        if iri in passage_of_iri:
            mask[passage_of_iri[iri]] = True
    return mask
