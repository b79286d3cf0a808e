r"""Read-only SPARQL: the check that refuses updates, ``SERVICE`` and ``LOAD``, the evaluation, and the typed result.

The check parses the query (rdflib's parser, under a lock: it is not safe across threads) and looks
for a service call anywhere in the parsed algebra, sub-queries and ``EXISTS`` filters included, so a
literal such as "Secret Service" is fine. Oxigraph evaluates the query, and the two parsers must read
the same text: before either sees it, ``\u``/``\U`` escapes are expanded (as SPARQL's grammar says,
and rdflib does, but Oxigraph does only inside literals) and line breaks become ``\n`` (Oxigraph ends
a comment at a carriage return, rdflib does not). A raw carriage return inside a long literal is
therefore read as a line feed.

The default graph of every query is the union of the named graphs (one per document); ``GRAPH ?g``
still reaches each graph by name.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from kgbuild.errors import QueryFailedError, QueryRefusedError, QuerySyntaxError
from kgbuild.rdf.vocabulary import PREFIXES

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
TRIPLE_COLUMNS = ("subject", "predicate", "object")
_XSD_STRING = PREFIXES["xsd"] + "string"
_LANG_STRING = PREFIXES["rdf"] + "langString"
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_PARSER_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Term:
    """An RDF term of a result: ``kind`` is ``uri``, ``bnode``, ``literal`` or ``triple`` (RDF-star, in N-Triples)."""

    kind: str
    value: str
    datatype: str = ""  # literals only; empty for plain and language-tagged strings
    language: str = ""

    def n3(self) -> str:
        """Return the term in N-Triples form."""
        if self.kind == "uri":
            return f"<{self.value}>"
        if self.kind == "bnode":
            return f"_:{self.value}"
        if self.kind == "triple":
            return f"<< {self.value} >>"
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        if self.language:
            return f'"{escaped}"@{self.language}'
        return f'"{escaped}"^^<{self.datatype}>' if self.datatype else f'"{escaped}"'


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The answer to one query.

    ``columns`` are the SELECT variables, or subject/predicate/object for CONSTRUCT and DESCRIBE (one
    row per triple), and empty for ASK, whose answer is ``answer``. ``cut`` says that there were more
    than ``row_limit`` rows and ``rows`` holds the first ``row_limit``.
    """

    form: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Term | None, ...], ...]
    answer: bool | None = None
    row_limit: int = 0
    cut: bool = False

    @property
    def note(self) -> str:
        """A line for the user when the row limit cut the result; empty otherwise."""
        return f"only the first {self.row_limit} rows are shown (row limit)" if self.cut else ""


@dataclass(frozen=True, slots=True)
class CheckedQuery:
    """A query that passed the read-only check: the text to evaluate and its form (SELECT, ASK...)."""

    text: str
    form: str


def normalise(query: str) -> str:
    r"""Expand ``\u`` escapes and turn carriage returns into line feeds, so that every parser reads one text.

    Raises:
        QuerySyntaxError: an escape names no character, or the expanded text holds further escapes.

    """

    def expand(match: re.Match[str]) -> str:
        point = int(match.group(1) or match.group(2), 16)
        if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
            raise QuerySyntaxError(f"SPARQL syntax error: {match.group(0)} at char {match.start()} is no character")
        return chr(point)

    text = _ESCAPE.sub(expand, query)
    if _ESCAPE.search(text):
        raise QuerySyntaxError("SPARQL syntax error: a \\u escape spells another escape; write the character itself")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_read_only(query: str) -> CheckedQuery:
    """Parse a SPARQL query; refuse updates, ``SERVICE`` and ``LOAD`` from the parsed form.

    Raises:
        QuerySyntaxError: the query does not parse.
        QueryRefusedError: an update (``LOAD`` included), or a service call anywhere in the query.

    """
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery

    text = normalise(query)
    with _PARSER_LOCK:
        try:
            algebra = translateQuery(parseQuery(text)).algebra
        except Exception as error:  # pyparsing raises its own tree of errors; the algebra raises plain ones
            if _is_update(text):
                raise QueryRefusedError(
                    "updates are refused: this graph is read-only here (use kgbuild extract/remove)"
                ) from None
            raise QuerySyntaxError(f"SPARQL syntax error: {error}") from None
        calls: list[str] = []
        traverse(algebra, lambda node: calls.append("SERVICE") if _name(node) == "ServiceGraphPattern" else None)
    if calls:
        raise QueryRefusedError("SERVICE is refused: queries may read only this graph")
    return CheckedQuery(text, _name(algebra).removesuffix("Query").upper())


def _name(node: Any) -> str:
    return str(getattr(node, "name", ""))


def _is_update(text: str) -> bool:
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parsed = parseUpdate(text)
    except Exception:  # not an update either
        return False
    return bool(parsed.request)


def evaluate(store: Any, checked: CheckedQuery, row_limit: int) -> QueryResult:
    """Evaluate a checked query on a pyoxigraph store, over the union of its named graphs.

    Raises:
        QuerySyntaxError: Oxigraph rejects what rdflib's parser accepted.
        QueryFailedError: the store could not be read or the evaluation failed.

    """
    import pyoxigraph

    try:
        result = store.query(checked.text, use_default_graph_as_union=True)
        if isinstance(result, pyoxigraph.QueryBoolean):
            return QueryResult("ASK", (), (), answer=bool(result), row_limit=row_limit)
        if isinstance(result, pyoxigraph.QueryTriples):
            form, columns = checked.form, TRIPLE_COLUMNS
            rows = _first(((t.subject, t.predicate, t.object) for t in result), row_limit + 1)
        else:
            form, columns = "SELECT", tuple(v.value for v in result.variables)
            rows = _first((tuple(solution[c] for c in columns) for solution in result), row_limit + 1)
    except SyntaxError as error:
        raise QuerySyntaxError(f"SPARQL syntax error: {error}") from None
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        raise QueryFailedError(f"query failed: {error}") from None
    terms = tuple(tuple(_term(value) for value in row) for row in rows[:row_limit])
    return QueryResult(form, columns, terms, row_limit=row_limit, cut=len(rows) > row_limit)


def _first(rows: Any, count: int) -> list[Any]:
    kept = []
    for row in rows:
        kept.append(row)
        if len(kept) == count:
            break
    return kept


def _term(value: Any) -> Term | None:
    import pyoxigraph

    if value is None:
        return None
    if isinstance(value, pyoxigraph.NamedNode):
        return Term("uri", value.value)
    if isinstance(value, pyoxigraph.BlankNode):
        return Term("bnode", value.value)
    if isinstance(value, pyoxigraph.Literal):
        datatype = value.datatype.value
        plain = datatype in (_XSD_STRING, _LANG_STRING)
        return Term("literal", value.value, "" if plain else datatype, value.language or "")
    return Term("triple", str(value))
