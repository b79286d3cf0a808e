"""Streamlit app to search and explore a knowledge graph built by kgbuild: widgets and cached loaders only.

streamlit run app.py            # opens the graph in ./kg (the README's first command builds it)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from kgbuild import KgBuildError, KnowledgeGraphDir, QueryRunner
from kgsearch import KgSearchError, Searcher
from kgsearch.explore import EXAMPLE_QUERIES, GraphExplorer, explanation_dot, highlight, sparql_table

DEFAULT_KG = os.environ.get("KGSEARCH_KG", "kg")
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


@st.cache_data(show_spinner="Summarising the graph...")
def load_summary(kg_dir: str) -> dict[str, Any]:
    """Summarise the graph once per process."""
    from kgbuild.rdf.graph import graph_summary

    return graph_summary(KnowledgeGraphDir(kg_dir).dataset())


@st.cache_data(show_spinner="Serialising...")
def export(kg_dir: str, format: str) -> str:
    """Serialise the graph in one format once per process."""
    from kgbuild.rdf.store import export_text

    return export_text(KnowledgeGraphDir(kg_dir).dataset(), format)[0]


def open_entity(iri: str) -> None:
    """Show an entity's page."""
    st.session_state["entity"] = iri


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
    f"{len(explorer.facts.triples)} triples"
)

search_tab, entity_tab, sparql_tab, overview_tab = st.tabs(["Search", "Entity", "SPARQL", "Overview"])

with search_tab:
    with st.form("search"):
        question = st.text_input(
            "Question", placeholder="Who is the mother of the director of film Polish Wedding?", key="question"
        )
        k = st.slider("Hits", 1, 20, 5)
        with st.expander("Advanced: restrict to passages matching a SPARQL graph pattern"):
            where = st.text_area(
                "Pattern binding ?passage", "", placeholder="?passage schema:about ?p . ?p a kg:Person"
            )
        submitted = st.form_submit_button("Search")
    if submitted:
        try:
            result = searcher.search(question, k=k, where=where.strip() or None)
        except (KgSearchError, ValueError) as error:
            st.warning(str(error))
        else:
            for note in result.notes:
                st.info(note)
            linked = ", ".join(f"**{m.text}** → {m.label} ({m.how})" for m in result.mentions) or "nothing"
            st.markdown(f"Linked: {linked}. Relation cues: {', '.join(result.relation_cues) or 'none'}.")
            names = [m.text for m in result.mentions] + [h.target_label for hit in result.hits for h in hit.path]
            for hit in result.hits:
                with st.container(border=True):
                    st.subheader(f"{hit.rank}. {hit.passage.title or hit.passage.id}")
                    left, middle, right = st.columns(3)
                    left.metric("fused", f"{hit.score:.3f}")
                    middle.metric("graph", f"{hit.graph_score:.4f}")
                    dense = "-" if hit.dense_score is None else f"{hit.dense_score:.3f}"
                    right.metric("dense", dense, help="not computed where the settings give it no weight")
                    st.markdown(highlight(hit.passage.text, names))
                    if hit.path:
                        st.graphviz_chart(explanation_dot(hit))
                        for hop in hit.path:
                            if hop.kind == "relation":
                                st.caption(
                                    f"{hop.source_label} —{hop.predicate_label} ({hop.confidence:.2f})→ "
                                    f"{hop.target_label}: “{hop.sentence}”"
                                )
                        entities = [h for h in hit.path if h.target in explorer.entities]
                        for column, hop in zip(st.columns(max(len(entities), 1)), entities, strict=False):
                            column.button(
                                f"Entity: {hop.target_label}", key=f"{hit.rank}-{hop.target}",
                                on_click=open_entity, args=(hop.target,),
                            )  # fmt: skip
                    else:
                        st.caption(hit.note)

with entity_tab:
    lookup = st.text_input("Find an entity", "", key="entity_lookup")
    matches = explorer.find(lookup) if lookup else []
    if matches:
        choice = st.selectbox("Matches", matches, format_func=lambda pair: f"{pair[1]}  <{pair[0]}>")
        if choice:
            st.session_state["entity"] = choice[0]
    elif lookup:
        st.info(f"No entity label or alias contains {lookup!r}.")
    iri = st.session_state.get("entity")
    if iri and iri in explorer.entities:
        page = explorer.entity(iri)
        st.header(page.label)
        st.code(page.iri, language=None)
        st.markdown(f"Types: {', '.join(page.classes) or '—'}. Aliases: {', '.join(page.aliases) or '—'}.")
        for title, views in (("Outgoing", page.outgoing), ("Incoming", page.incoming)):
            st.subheader(f"{title} triples ({len(views)})")
            st.dataframe(
                [
                    {
                        "subject": v.subject_label,
                        "property": v.predicate_label,
                        "object": v.object_label,
                        "confidence": round(v.confidence, 3),
                        "sentence": v.sentence,
                        "passage": v.document,
                    }
                    for v in views
                ],
                use_container_width=True,
            )
        st.subheader("Mentioned in")
        st.write(", ".join(page.passages))
        st.graphviz_chart(explorer.neighbourhood_dot(iri))
        neighbours = {v.object: v.object_label for v in page.outgoing} | {
            v.subject: v.subject_label for v in page.incoming
        }
        if neighbours:
            target = st.selectbox(
                "Go to a neighbour",
                sorted(neighbours, key=lambda n: neighbours[n]),
                format_func=lambda n: neighbours[n],
            )
            st.button("Open", on_click=open_entity, args=(target,))

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
    cells[1].metric("entities", summary["entities"])
    cells[2].metric("triples", summary["triples"])
    cells[3].metric("duplicate-entity rate", f"{100 * summary['duplicate_entity_rate']:.1f}%")
    st.subheader("Triples by relation")
    st.bar_chart(dict(explorer.relation_counts()[:30]), horizontal=True)
    st.subheader("Confidence")
    import numpy as np

    counts, edges = np.histogram(explorer.confidences() or [0.0], bins=10, range=(0.0, 1.0))
    st.bar_chart({f"{edges[i]:.1f}-{edges[i + 1]:.1f}": int(c) for i, c in enumerate(counts)})
    st.subheader("Download")
    for column, (label, format, suffix) in zip(
        st.columns(4),
        (("TriG", "trig", "trig"), ("N-Quads", "nquads", "nq"), ("Turtle (union)", "turtle", "ttl"),
         ("JSON-LD", "jsonld", "jsonld")),
        strict=True,
    ):  # fmt: skip
        if column.button(f"Prepare {label}", key=f"prepare-{format}"):
            column.download_button(f"Download {label}", export(kg_dir, format), f"{Path(kg_dir).name}.{suffix}")
