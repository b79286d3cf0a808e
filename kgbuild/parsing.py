"""Split documents into sentences and words with spaCy, keeping each word's character offsets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kgbuild.errors import InputTextError, ModelLoadError
from kgbuild.records import Document, ParsedDocument, Span, TokenizedText
from kgbuild.settings import spacy_model_name

# Tagging and lemmas are not used; the parser gives sentences, and NER the types the extractor lacks.
_UNUSED = ("tagger", "attribute_ruler", "lemmatizer")


def load_spacy(name: str | None = None) -> Any:
    """Load a spaCy pipeline by package name or path (default: `spacy_model_name`)."""
    import spacy

    name = name or spacy_model_name()
    try:
        return spacy.load(name, exclude=list(_UNUSED))
    except OSError as error:
        raise ModelLoadError(f"spaCy pipeline {name!r} is not installed or not a pipeline directory") from error


class SpacyParser:
    """Turn documents into `ParsedDocument` records; the spaCy pipeline loads on first use."""

    def __init__(self, name: str | None = None, batch_size: int = 64):
        self.name = name
        self.batch_size = batch_size
        self._nlp: Any = None

    @property
    def nlp(self) -> Any:
        """The loaded spaCy pipeline."""
        if self._nlp is None:
            self._nlp = load_spacy(self.name)
        return self._nlp

    def parse(self, documents: Iterable[Document]) -> Iterator[ParsedDocument]:
        """Parse documents in order.

        Raises:
            InputTextError: a document's text is empty or whitespace.

        """
        checked = (_check(document) for document in documents)
        pairs = self.nlp.pipe(((d.text, d) for d in checked), as_tuples=True, batch_size=self.batch_size)
        for doc, document in pairs:
            yield to_parsed(document, doc)


def _check(document: Document) -> Document:
    if not document.text.strip():
        raise InputTextError(f"document {document.id!r}: empty text")
    return document


def to_parsed(document: Document, doc: Any) -> ParsedDocument:
    """Convert a spaCy `Doc` of `document.text` into a `ParsedDocument` (whitespace tokens dropped)."""
    tokens: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    sentence_starts: list[int] = []
    word_of: dict[int, int] = {}  # spaCy token index -> word index
    for sentence in doc.sents:
        first = len(tokens)
        for token in sentence:
            if token.is_space:
                continue
            word_of[token.i] = len(tokens)
            tokens.append(token.text)
            starts.append(token.idx)
            ends.append(token.idx + len(token.text))
        if len(tokens) > first:
            sentence_starts.append(first)
    named = []
    for entity in doc.ents:
        words = [word_of[i] for i in range(entity.start, entity.end) if i in word_of]
        if words:
            named.append((Span(words[0], words[-1] + 1), entity.label_))
    text = TokenizedText(tuple(tokens), tuple(sentence_starts) or (0,), document.id)
    return ParsedDocument(document, text, tuple(starts), tuple(ends), tuple(named))
