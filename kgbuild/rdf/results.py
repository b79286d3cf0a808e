"""Write a `QueryResult` in the SPARQL results formats, as RDF, or as a text table.

SELECT and ASK: SPARQL 1.1 JSON, XML, CSV and TSV (an ASK answer in CSV/TSV is one ``_askResult``
column, as Jena writes it). CONSTRUCT and DESCRIBE: N-Triples, Turtle (written as N-Triples, which
is valid Turtle) and expanded JSON-LD.
"""

from __future__ import annotations

import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

from kgbuild.rdf.query import QueryResult, Term

RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "text/plain": "ntriples",
    "application/ld+json": "jsonld",
}


def media_types(result: QueryResult) -> dict[str, str]:
    """Return the media types a result can be written in, the preferred first."""
    return GRAPH_TYPES if result.form in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES


def write(result: QueryResult, format: str) -> str:
    """Write a result in one of the formats `media_types` names (``json``, ``csv``, ``turtle``...).

    Raises:
        ValueError: the format does not fit the query form (e.g. Turtle for a SELECT); CSV, TSV and
            the text table fit every form (a graph's triples as subject, predicate, object rows).

    """
    writers = {
        "json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv,
        "turtle": _ntriples, "ntriples": _ntriples, "jsonld": _jsonld, "table": _table,
    }  # fmt: skip
    if format not in ("table", "csv", "tsv", *media_types(result).values()):
        raise ValueError(f"a {result.form} result cannot be written as {format}")
    return writers[format](result)


def _binding(term: Term) -> dict[str, str]:
    kind = {"uri": "uri", "bnode": "bnode", "literal": "literal", "triple": "triple"}[term.kind]
    binding = {"type": kind, "value": term.value}
    if term.language:
        binding["xml:lang"] = term.language
    elif term.datatype:
        binding["datatype"] = term.datatype
    return binding


def _json(result: QueryResult) -> str:
    if result.form == "ASK":
        return json.dumps({"head": {}, "boolean": bool(result.answer)}) + "\n"
    bindings = [
        {name: _binding(term) for name, term in zip(result.columns, row, strict=True) if term is not None}
        for row in result.rows
    ]
    return json.dumps({"head": {"vars": list(result.columns)}, "results": {"bindings": bindings}}) + "\n"


def _xml(result: QueryResult) -> str:
    lines = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
    lines += [f"<variable name={quoteattr(name)}/>" for name in result.columns]
    lines.append("</head>")
    if result.form == "ASK":
        lines.append(f"<boolean>{str(bool(result.answer)).lower()}</boolean>")
    else:
        lines.append("<results>")
        for row in result.rows:
            lines.append("<result>")
            for name, term in zip(result.columns, row, strict=True):
                if term is not None:
                    lines.append(f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>")
            lines.append("</result>")
        lines.append("</results>")
    return "\n".join([*lines, "</sparql>"]) + "\n"


def _xml_term(term: Term) -> str:
    if term.kind == "uri":
        return f"<uri>{escape(term.value)}</uri>"
    if term.kind == "bnode":
        return f"<bnode>{escape(term.value)}</bnode>"
    if term.kind == "triple":
        return f"<literal>{escape(term.n3())}</literal>"
    attribute = f" xml:lang={quoteattr(term.language)}" if term.language else ""
    attribute = f" datatype={quoteattr(term.datatype)}" if term.datatype else attribute
    return f"<literal{attribute}>{escape(term.value)}</literal>"


def _csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    table = csv.writer(buffer, lineterminator="\r\n")
    if result.form == "ASK":
        table.writerows([["_askResult"], [str(bool(result.answer)).lower()]])
        return buffer.getvalue()
    table.writerow(result.columns)
    table.writerows([_plain(term) for term in row] for row in result.rows)
    return buffer.getvalue()


def _plain(term: Term | None) -> str:
    if term is None:
        return ""
    return f"_:{term.value}" if term.kind == "bnode" else term.value


def _tsv(result: QueryResult) -> str:
    if result.form == "ASK":
        return f"?_askResult\n{str(bool(result.answer)).lower()}\n"
    lines = ["\t".join(f"?{name}" for name in result.columns)]
    lines += ["\t".join("" if term is None else term.n3() for term in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _ntriples(result: QueryResult) -> str:
    return "".join(" ".join(term.n3() for term in row if term is not None) + " .\n" for row in result.rows)


def _jsonld(result: QueryResult) -> str:
    nodes: dict[str, dict[str, list[dict[str, str]]]] = {}
    for subject, predicate, value in result.rows:
        if subject is None or predicate is None or value is None:
            continue
        node = nodes.setdefault(subject.value if subject.kind == "uri" else subject.n3(), {})
        if value.kind in ("uri", "bnode"):
            entry = {"@id": value.value if value.kind == "uri" else f"_:{value.value}"}
        else:
            entry = {"@value": value.value}
            if value.language:
                entry["@language"] = value.language
            elif value.datatype:
                entry["@type"] = value.datatype
        node.setdefault(predicate.value, []).append(entry)
    return json.dumps([{"@id": iri, **properties} for iri, properties in nodes.items()], indent=1) + "\n"


def _table(result: QueryResult) -> str:
    if result.form == "ASK":
        return f"{bool(result.answer)}\n"
    if result.form in ("CONSTRUCT", "DESCRIBE"):
        return _ntriples(result) + f"({len(result.rows)} triples)\n"
    names = list(result.columns)
    rows = [[_plain(term) for term in row] for row in result.rows]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines) + f"\n({len(rows)} rows)\n"
