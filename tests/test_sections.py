"""A document over the section threshold is built section by section (`kgbuild.sections`); shorter ones as before."""

import pytest
from rdflib import RDF, RDFS, Dataset

from kgbuild import KnowledgeGraphDir, RelationExtractor, SpacyParser, build_knowledge_graph
from kgbuild.rdf.namespaces import KG
from kgbuild.records import Document, ParsedDocument, Span, TokenizedText
from kgbuild.resolution import ResolvedDocument, ResolvedEntity
from kgbuild.sections import DocumentSections, document_sections

PARAGRAPH = "Betsy Ross was born in Philadelphia. Bruno Pusterla works for the Italian Agricultural Confederation."
LONG_TEXT = "\n\n".join(f"{PARAGRAPH} Rome is in Lazio {i}." for i in range(8))
SECTION_CHARS = 300


@pytest.fixture(scope="module")
def extractor(tiny_model):
    return RelationExtractor.load(tiny_model)


@pytest.fixture(scope="module")
def parser():
    return SpacyParser()


def _build(tmp_path, documents, extractor, parser, section_chars=SECTION_CHARS, **options):
    kg = KnowledgeGraphDir(tmp_path, create=True)
    report = build_knowledge_graph(
        documents, kg, extractor, parser, "tiny", "1", section_chars=section_chars, **options
    )
    return kg, report


def _dataset(kg, document_id):
    dataset = Dataset(default_union=True)
    dataset.parse(data=kg.document_file(document_id).read_text(encoding="utf-8"), format="nquads")
    return dataset


def _names(dataset, node):
    return {str(name) for p in (RDFS.label, KG.alias) for name in dataset.objects(node, p)}


def test_sections_cut_between_paragraphs_and_cover_the_text():
    sections = list(document_sections(Document("long", LONG_TEXT, "Long"), SECTION_CHARS))
    assert len(sections) > 1 and all(len(s.document.text) <= SECTION_CHARS for s in sections)
    assert "".join(s.document.text for s in sections) == LONG_TEXT
    assert all(LONG_TEXT[s.start - 2 : s.start] == "\n\n" for s in sections[1:])  # after a blank line
    assert {(s.document.id, s.document.title) for s in sections} == {("long", "Long")}


def test_a_long_documents_triples_cut_their_mentions_out_of_the_whole_text(tmp_path, extractor, parser):
    kg, report = _build(tmp_path, [Document("long", LONG_TEXT)], extractor, parser, min_confidence=0)
    assert report.documents == 1 and not report.failed
    assert report.sentences == 3 * 8  # every section's sentences, counted once
    dataset = _dataset(kg, "long")
    statements = list(dataset.subjects(RDF.type, KG.Extraction))
    assert statements  # the tiny model relates something, so offsets are checked at all
    starts = []
    for statement in statements:
        sentence = str(dataset.value(statement, KG.sentence))
        for role, start_p, end_p in (
            (RDF.subject, KG.subjectStart, KG.subjectEnd),
            (RDF.object, KG.objectStart, KG.objectEnd),
        ):
            start, end = int(dataset.value(statement, start_p)), int(dataset.value(statement, end_p))
            assert LONG_TEXT[start:end] in _names(dataset, dataset.value(statement, role))
            # the sentence is the text around the mention, at its place in the whole document
            assert any(LONG_TEXT.startswith(sentence, at) for at in range(max(end - len(sentence), 0), start + 1))
            starts.append(start)
    assert max(starts) > 2 * SECTION_CHARS  # offsets of later sections point past the first ones


def test_an_entity_named_in_several_sections_is_one_node_with_one_label(tmp_path, extractor, parser):
    # The later sections are in capitals (the same words to the uncased model): each name is one node, first label.
    paragraphs = LONG_TEXT.split("\n\n")
    text = "\n\n".join(paragraphs[:4] + [paragraph.upper() for paragraph in paragraphs[4:]])
    kg, _ = _build(tmp_path, [Document("long", text)], extractor, parser)
    dataset = _dataset(kg, "long")
    labels = {
        node: [str(label) for label in dataset.objects(node, RDFS.label)] for node in dataset.subjects(KG.mentionedIn)
    }
    assert all(len(found) == 1 for found in labels.values()), labels
    sections = [s.document.text for s in document_sections(Document("long", text), SECTION_CHARS)]
    lower, upper = "".join(sections[:2]), "".join(sections[-2:])
    both = [
        node for node, [label] in labels.items() if label in lower and label != label.upper() and label.upper() in upper
    ]
    assert both  # named in the first sections and, in capitals, in the last: one node
    assert all(label.upper() in _names(dataset, node) for node in both for label in labels[node])


def test_short_documents_give_the_same_bytes_as_the_one_piece_path(tmp_path, extractor, parser):
    from kgbuild import extract_documents
    from kgbuild.named import add_named_entities, missing_types
    from kgbuild.rdf.graph import ModelInfo, document_nquads
    from kgbuild.rdf.iris import IriMinter
    from kgbuild.resolution import resolve_document

    short = Document("short", "Betsy Ross was born in Philadelphia on 1 January 1752. Rome is in Lazio.", "Betsy Ross")
    text = (PARAGRAPH + " ") * 3
    at_threshold = Document("at", text[: SECTION_CHARS - 1] + ".")  # as long as the threshold: not cut
    assert len(at_threshold.text) == SECTION_CHARS
    documents = [short, Document("long", LONG_TEXT), at_threshold]
    kg, report = _build(tmp_path / "kg", documents, extractor, parser)
    assert report.documents == 3 and not report.failed
    missing = missing_types(extractor.config.entity_types)
    for document in (short, at_threshold):  # what the code before sections wrote
        [result] = extract_documents([document], extractor, parser)
        resolved = resolve_document(result.parsed, add_named_entities(result.parsed, result.extraction, missing))
        expected, _ = document_nquads(resolved, IriMinter(), ModelInfo("tiny", "1"), 0.5)
        written = kg.document_file(document.id).read_text(encoding="utf-8")
        assert written.split("\n", 1)[1] == expected
    # The threshold is part of a long document's content hash only: changing it rebuilds just that one.
    _, again = _build(tmp_path / "kg", documents, extractor, parser, section_chars=SECTION_CHARS + 100)
    assert (again.documents, again.skipped_unchanged) == (1, 2)


def _entity(key, type_="LOC", aliases=()):
    return ResolvedEntity(key, key, type_, (Span(0, 1),), aliases, 0.9)


def test_a_name_spelled_differently_in_a_later_section_keeps_its_first_label():
    parsed = ParsedDocument(Document("d", "Rome"), TokenizedText(("Rome",)), (0,), (4,))
    sections = DocumentSections()
    first = sections.join(ResolvedDocument(parsed, (_entity("Rome"), _entity("Lazio")), ()))
    later = sections.join(ResolvedDocument(parsed, (_entity("ROME", aliases=("Roma",)), _entity("Rome", "PER")), ()))
    assert [(e.label, e.aliases) for e in first.entities] == [("Rome", ()), ("Lazio", ())]
    # the same node (name and identity group) gets the first label; a person "Rome" is another node
    assert [(e.key, e.label, e.aliases) for e in later.entities] == [
        ("ROME", "Rome", ("ROME", "Roma")),
        ("Rome", "Rome", ()),
    ]


def test_a_short_form_in_a_later_section_joins_its_one_long_form_in_an_earlier_one():
    parsed = ParsedDocument(Document("d", "Rome"), TokenizedText(("Rome",)), (0,), (4,))
    sections = DocumentSections()
    sections.join(
        ResolvedDocument(parsed, (_entity("John Smith", "PER"), _entity("North Atlantic Treaty Org", "ORG")), ())
    )
    later = sections.join(
        ResolvedDocument(parsed, (_entity("Smith", "PER"), _entity("NATO", "ORG"), _entity("NAT", "ORG")), ())
    )
    assert [(e.key, e.label, e.aliases) for e in later.entities] == [
        ("John Smith", "John Smith", ("Smith",)),
        ("North Atlantic Treaty Org", "North Atlantic Treaty Org", ("NATO",)),
        ("NAT", "NAT", ()),  # not its acronym
    ]
    sections.join(ResolvedDocument(parsed, (_entity("Mary Smith", "PER"),), ()))
    last = sections.join(ResolvedDocument(parsed, (_entity("Smith", "PER"), _entity("Mary", "PER")), ()))
    # "Smith" was joined to John Smith (now ambiguous, it stays with him); "Mary" has one long form
    assert [(e.key, e.label) for e in last.entities] == [("John Smith", "John Smith"), ("Mary Smith", "Mary Smith")]


def test_lines_and_triples_two_sections_write_are_kept_once_and_sorted():
    from kgbuild.rdf.graph import GraphStats

    sections = DocumentSections()
    sections.add(
        "<b> <p> <o> <g> .\n<a> <p> <o> <g> .\n",
        2,
        GraphStats(written={("a", "p", "o"), ("b", "p", "o")}),
    )
    sections.add(
        "<a> <p> <o> <g> .\n<c> <p> <o> <g> .\n",
        3,
        GraphStats(rejected=1, written={("a", "p", "o"), ("c", "p", "o")}),
    )
    assert sections.nquads() == "<a> <p> <o> <g> .\n<b> <p> <o> <g> .\n<c> <p> <o> <g> .\n"
    # the triple both sections read is counted once, as the graph holds it once
    assert (sections.sentences, sections.triples, sections.rejected) == (5, 3, 1)


def test_a_section_size_below_one_is_refused_before_anything_is_written(tmp_path, extractor, parser):
    kg = KnowledgeGraphDir(tmp_path, create=True)
    with pytest.raises(ValueError, match="section_chars must be > 0, got 0"):
        build_knowledge_graph([Document("d", "Rome is in Lazio.")], kg, extractor, parser, "tiny", "1", section_chars=0)
    assert not kg.finished() and not list(kg.runs.glob("*.nq"))
