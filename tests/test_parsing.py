import itertools

import pytest

from kgbuild.errors import InputTextError
from kgbuild.parsing import SpacyParser
from kgbuild.records import Document, Span


@pytest.fixture(scope="module")
def parser():
    return SpacyParser()


def test_parse_keeps_sentences_and_character_offsets(parser):
    text = "Ann Smith works for Acme.  She lives in Rome."
    [parsed] = parser.parse([Document("d1", text)])
    assert parsed.text.sentence_starts == (0, 6)
    assert parsed.text.tokens[:2] == ("Ann", "Smith")
    assert parsed.surface(Span(0, 2)) == "Ann Smith"
    assert parsed.char_span(Span(9, 10)) == (text.index("Rome"), text.index("Rome") + 4)
    assert " " not in parsed.text.tokens and "  " not in parsed.text.tokens


def test_empty_document_is_a_clear_error(parser):
    with pytest.raises(InputTextError, match="document 'blank': empty text"):
        list(parser.parse([Document("blank", " \n ")]))


def test_parse_keeps_spacy_entities_as_word_spans(parser):
    text = "Ann Smith  was born on 4 May 1950 in Rome."
    [parsed] = parser.parse([Document("d1", text)])
    named = {parsed.surface(span): label for span, label in parsed.named}
    assert named.get("4 May 1950") == "DATE"  # word spans, past the double space spaCy keeps as a token
    assert named.get("Rome") == "GPE"


def test_piece_bounds_cut_at_paragraphs_then_sentences_then_words():
    from kgbuild.parsing import piece_bounds

    text = "Ann sang.\n\nBo ran. Cy hid.\n\nDee " + "x" * 30
    bounds = piece_bounds(text, 20)
    assert [text[a:b] for a, b in bounds][:3] == ["Ann sang.\n\n", "Bo ran. Cy hid.\n\n", "Dee "]
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(b - a <= 20 for a, b in bounds) and all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))
    sentences = "Bo ran. Cy hid. Di sat."
    assert [sentences[a:b] for a, b in piece_bounds(sentences, 18)] == ["Bo ran. Cy hid. ", "Di sat."]


def test_a_long_document_read_in_pieces_keeps_offsets_into_the_whole_text(parser):
    paragraph = "Ann Smith works for Acme in Rome. She was born on 4 May 1950.\n\n"
    text = paragraph * 40 + "Bo Lee lives in Paris."
    in_pieces = SpacyParser(piece_chars=300, whole_chars=0)
    [parsed] = in_pieces.parse([Document("long", text)])
    assert [parsed.surface(Span(i, i + 1)) for i in range(len(parsed.text.tokens))] == list(parsed.text.tokens)
    assert parsed.text.tokens[-6:] == ("Bo", "Lee", "lives", "in", "Paris", ".")
    assert len(parsed.text.sentence_starts) == 81
    assert parsed.char_span(Span(len(parsed.text.tokens) - 2, len(parsed.text.tokens) - 1)) == (
        text.rindex("Paris"),
        text.rindex("Paris") + 5,
    )
    dates = [parsed.char_span(span) for span, label in parsed.named if label == "DATE"]
    assert len(dates) == 40 and all(text[a:b] == "4 May 1950" for a, b in dates)
    assert parsed == next(parser.parse([Document("long", text)]))  # the same words as one spaCy pass


def test_documents_read_in_pieces_come_out_whole_and_in_order():
    parser = SpacyParser(piece_chars=30, batch_size=2, whole_chars=0)
    documents = [Document(f"d{i}", "Ann sang in Rome. " * (i + 1)) for i in range(4)]
    parsed = list(parser.parse(documents))
    assert [p.document.id for p in parsed] == ["d0", "d1", "d2", "d3"]
    assert [len(p.text.sentence_starts) for p in parsed] == [1, 2, 3, 4]
