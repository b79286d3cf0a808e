"""Streamlit app to search and explore a knowledge graph built by kgbuild: widgets and cached loaders only.

streamlit run app.py            # opens the graph in ./kg (the README's first command builds it)
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from kgbuild import KgBuildError, KnowledgeGraphDir, QueryRunner
from kgsearch import KgSearchError, Searcher
from kgsearch.explore import EXAMPLE_QUERIES, GraphExplorer, highlight, sparql_table
from kgsearch.present import (
    chain,
    clip,
    common_entities,
    cue_names,
    explanation_dot,
    fit_question,
    mention_lines,
    path_steps,
    relation_chart,
    score_line,
    where_error,
)

if TYPE_CHECKING:
    from kgbuild import GraphSummary

DEFAULT_KG = os.environ.get("KGSEARCH_KG", "kg")
PLACEHOLDER = "Who is the mother of the director of film Atomised (Film)?"  # in data/sample/questions.jsonl
DOWNLOADS = (("TriG", "trig", "trig"), ("N-Quads", "nquads", "nq"), ("Turtle (union)", "turtle", "ttl"),
             ("JSON-LD", "jsonld", "jsonld"))  # fmt: skip
st.set_page_config(page_title="kgbuild explorer", layout="wide")


@st.cache_resource(show_spinner="Loading the index and models...")
def load_searcher(kg_dir: str) -> Searcher:
    """Load the search index and its models once per process, warmed up: the first question is not slower."""
    searcher = Searcher.open(kg_dir, threads=1)
    searcher.warm_up()
    return searcher


@st.cache_resource(show_spinner="Reading the graph...")
def load_explorer(kg_dir: str) -> GraphExplorer:
    """Read the graph's entities and triples once per process."""
    return GraphExplorer(kg_dir)


@st.cache_resource(show_spinner="Starting the query workers...")
def load_runner(kg_dir: str) -> QueryRunner:
    """Start the SPARQL console's worker processes once per process: a query past 10 s is stopped."""
    return QueryRunner(kg_dir, workers=2, timeout=10.0, row_limit=1000, queue=8)


@st.cache_resource(show_spinner="Starting the pattern worker...")
def load_where_runner(kg_dir: str, passages: int) -> QueryRunner:
    """Start the search pattern's worker once per process: a pattern past 10 s is stopped, every match kept."""
    return QueryRunner(kg_dir, workers=1, timeout=10.0, row_limit=passages + 1, queue=4)


@st.cache_data(show_spinner="Summarising the graph...")
def load_summary(kg_dir: str) -> GraphSummary:
    """Summarise the graph once per process."""
    from kgbuild import graph_summary

    return graph_summary(KnowledgeGraphDir(kg_dir).dataset())


@st.cache_data(show_spinner=False, max_entries=8)
def export(kg_dir: str, stamp: str, format: str) -> str:
    """Serialise the graph in one format once per graph version (`stamp` changes with its files)."""
    from kgbuild import export_text

    return export_text(KnowledgeGraphDir(kg_dir).dataset(), format)[0]


def open_entity(iri: str, hit: int | None = None) -> None:
    """Show an entity's page: under the hit whose button was pressed, and in the Entity tab."""
    st.session_state["entity"] = iri
    st.session_state["entity_hit"] = hit


def show_entity(explorer: GraphExplorer, iri: str, compact: bool = False) -> None:
    """Write an entity's page: label, IRI, types, its triples both ways and the passages that mention it."""
    page = explorer.entity(iri)
    (st.subheader if compact else st.header)(page.label)
    st.code(page.iri, language=None)
    st.markdown(f"Types: {', '.join(page.classes) or '—'}. Aliases: {', '.join(page.aliases) or '—'}.")
    for title, views in (("Outgoing", page.outgoing), ("Incoming", page.incoming)):
        st.markdown(f"**{title} triples ({len(views)})**")
        rows = [
            {"subject": v.subject_label, "property": v.predicate_label, "object": v.object_label,
             "confidence": round(v.confidence, 3), "sentence": v.sentence, "passage": v.document}
            for v in views
        ]  # fmt: skip
        if rows:
            st.dataframe(rows, width="stretch", height=min(38 + 35 * len(rows), 250 if compact else 400))
    st.markdown(f"**Mentioned in:** {', '.join(page.passages) or '—'}")
    if not compact:
        st.graphviz_chart(explorer.neighbourhood_dot(iri))


def show_hit(hit: Any, explorer: GraphExplorer, names: list[str]) -> None:
    """Write one hit: title, one line of scores, the passage collapsed, its path and entity buttons."""
    with st.container(border=True):
        st.markdown(f"#### {hit.rank}. {highlight(hit.passage.title or hit.passage.id, [])}")
        st.caption(score_line(hit))
        steps = path_steps(hit, explorer.statement_subjects)
        common = common_entities(steps, explorer.passage_counts, len(explorer.documents))
        if common:
            st.warning(f"Weak evidence: reached only through very common entities ({', '.join(common)}).", icon="⚠️")
        head, rest = clip(hit.passage.text)
        st.markdown(highlight(head, names) + (" …" if rest else ""))
        st.markdown("Path: " + chain(steps) if steps else f"*{hit.note or 'no path'}*")
        passage_column, path_column = st.columns(2) if rest else (st.container(), st.container())
        if rest:
            with passage_column.expander("Whole passage"):
                st.markdown(highlight(hit.passage.text, names))
        if not steps:
            return
        with path_column.expander("Path as a graph, with its sentences"):
            st.graphviz_chart(explanation_dot(steps))
            for hop in hit.path:
                if hop.kind == "relation":
                    st.caption(f"{hop.predicate_label} ({hop.confidence:.2f}): “{hop.sentence}”")
                elif hop.kind == "text":
                    st.caption(f"“{hop.predicate_label}” in {hop.source_label}: “{hop.sentence}”")
        entities = {s.target: s.target_label for s in steps if s.target_kind == "entity"}
        row = st.container(horizontal=True)
        for iri, label in entities.items():
            row.button(f"Entity: {label}", key=f"{hit.rank}-{iri}", on_click=open_entity, args=(iri, hit.rank))
        shown = st.session_state.get("entity")
        if st.session_state.get("entity_hit") == hit.rank and shown in entities:
            with st.container(border=True):
                show_entity(explorer, shown, compact=True)
                st.button("Close", key=f"close-{hit.rank}", on_click=open_entity, args=(shown, None))


st.sidebar.title("kgbuild explorer")
kg_dir = st.sidebar.text_input("Knowledge-graph directory", DEFAULT_KG, key="kg_dir")
try:
    KnowledgeGraphDir(kg_dir)
    searcher = load_searcher(kg_dir)
    explorer = load_explorer(kg_dir)
except (KgBuildError, KgSearchError, OSError) as error:
    st.error(f"Cannot open {kg_dir!r}: {error}")
    st.stop()
st.sidebar.caption(
    f"{len(searcher.index.passages)} passages, {len(explorer.facts.entities)} entities, "
    f"{explorer.triple_count} triples ({len(explorer.facts.triples)} extractions)"
)

search_tab, entity_tab, sparql_tab, overview_tab = st.tabs(["Search", "Entity", "SPARQL", "Overview"])

with search_tab:
    with st.form("search"):
        left, right = st.columns([6, 1])
        question = left.text_input("Question", placeholder=PLACEHOLDER, key="question")
        k = int(right.number_input("Hits", 1, 20, 5))
        with st.expander("Advanced: restrict to passages matching a SPARQL graph pattern"):
            where = st.text_area(
                "Pattern binding ?passage", "", placeholder="?passage schema:about ?p . ?p a kg:Person"
            )
        submitted = st.form_submit_button("Search")
    if submitted:
        searched, cut_note = fit_question(question)
        pattern = where.strip()
        try:
            runner = load_where_runner(kg_dir, len(searcher.index.passages)) if pattern else None
            result = searcher.search(searched, k=k, where=pattern or None, runner=runner)
        except KgSearchError as error:
            message = where_error(pattern, str(error)) if pattern and "--where" in str(error) else str(error)
            st.session_state["last_search"] = {"error": message}
        else:
            st.session_state["last_search"] = {"result": result, "cut": cut_note, "where": pattern}
        st.session_state["entity_hit"] = None
    shown = st.session_state.get("last_search")
    if shown and "error" in shown:
        st.warning(shown["error"])
    elif shown:
        result = shown["result"]
        if shown["cut"]:
            st.warning(shown["cut"])
        for note in result.notes:
            st.info(note)
        st.markdown(
            f"Linked: {'; '.join(mention_lines(result.mentions)) or 'nothing'}.  \n"
            f"Relation cues: {', '.join(cue_names(result.relation_cues)) or 'none'}."
        )
        if not result.hits:
            where_note = f" matches the pattern {shown['where']!r}" if shown["where"] else " could be ranked"
            st.info(f"No passage{where_note}.")
        names = [m.text for m in result.mentions] + [h.target_label for hit in result.hits for h in hit.path]
        for hit in result.hits:
            show_hit(hit, explorer, names)

with entity_tab:
    lookup = st.text_input("Find an entity", "", key="entity_lookup")
    matches = explorer.find(lookup) if lookup else []
    if matches:
        choice = st.selectbox("Matches", matches, format_func=lambda pair: f"{pair[1]}  <{pair[0]}>")
        if choice and (lookup, choice[0]) != st.session_state.get("entity_choice"):  # new, not every rerun
            st.session_state["entity_choice"], st.session_state["entity"] = (lookup, choice[0]), choice[0]
    elif lookup:
        st.info(f"No entity label or alias contains {lookup!r}.")
    iri = st.session_state.get("entity")
    if iri and iri in explorer.entities:
        show_entity(explorer, iri)
        page = explorer.entity(iri)
        neighbours = {v.object: v.object_label for v in page.outgoing} | {
            v.subject: v.subject_label for v in page.incoming
        }
        if neighbours:
            target = st.selectbox(
                "Go to a neighbour",
                sorted(neighbours, key=lambda n: neighbours[n]),
                format_func=lambda n: neighbours[n],
                key="neighbour",
            )
            st.button("Open neighbour", on_click=open_entity, args=(target,), key="open_neighbour")

with sparql_tab:
    example = st.selectbox("Example queries", list(EXAMPLE_QUERIES))
    query = st.text_area(
        "Read-only SPARQL (union of the named graphs)", EXAMPLE_QUERIES[example], height=200, key="sparql"
    )
    if st.button("Run query", key="run_query"):
        try:
            columns, rows, caption = sparql_table(load_runner(kg_dir).run(query))
        except KgBuildError as error:
            st.error(str(error))
        else:
            st.dataframe([dict(zip(columns, row, strict=True)) for row in rows], use_container_width=True)
            st.caption(caption)

with overview_tab:
    summary = load_summary(kg_dir)
    cells = st.columns(4)
    cells[0].metric("documents", len(explorer.facts.documents))
    cells[1].metric("entities", summary.entities)
    cells[2].metric("triples", summary.triples)
    cells[3].metric("duplicate-entity rate", f"{100 * summary.duplicate_entity_rate:.1f}%")
    st.subheader("Triples by relation")
    st.vega_lite_chart(relation_chart(explorer.relation_counts()[:30]), width="stretch")
    st.subheader("Confidence")
    import numpy as np

    counts, edges = np.histogram(explorer.confidences() or [0.0], bins=10, range=(0.0, 1.0))
    st.bar_chart({f"{edges[i]:.1f}-{edges[i + 1]:.1f}": int(c) for i, c in enumerate(counts)})
    st.subheader("Download")
    stamp = KnowledgeGraphDir(kg_dir).stamp()
    for column, (label, format, suffix) in zip(st.columns(4), DOWNLOADS, strict=True):
        column.download_button(
            f"Download {label}", partial(export, kg_dir, stamp, format), f"{Path(kg_dir).name}.{suffix}",
            key=f"download-{format}", on_click="ignore",
        )  # fmt: skip
