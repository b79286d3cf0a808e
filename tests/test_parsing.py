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
