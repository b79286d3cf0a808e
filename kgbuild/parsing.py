"""Split documents into sentences and words with spaCy, keeping each word's character offsets.

A document longer than `WHOLE_CHARS` characters is read in pieces of at most `PIECE_CHARS`, cut between
paragraphs where it can be, else between sentences, else between words: spaCy never sees more than its
``max_length``, holds one piece's `Doc` at a time, and every word keeps its character offset in the whole
document. Shorter ones (every passage of the benchmark corpora) are read whole, as spaCy reads them best.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from kgbuild.errors import InputTextError, ModelLoadError
from kgbuild.records import Document, ParsedDocument, Span, TokenizedText
from kgbuild.settings import spacy_model_name

# Tagging and lemmas are not used; the parser gives sentences, and NER the types the extractor lacks.
_UNUSED = ("tagger", "attribute_ruler", "lemmatizer")
WHOLE_CHARS = 20_000  # read whole up to this length; longer documents go in pieces
PIECE_CHARS = 2_000  # about a paragraph: spaCy holds a batch of 64 pieces, and its memory grows with their words
MAX_DOCUMENT_CHARS = 50_000_000  # longer documents fail alone, named, rather than exhaust memory
# Where a piece may end, best first: after a blank line, after a sentence's end, after any whitespace.
_CUTS = (re.compile(r"\n[^\S\n]*\n\s*"), re.compile(r"[.!?][\"')\]]*\s+"), re.compile(r"\s+"))


def load_spacy(name: str | None = None) -> Any:
    """Load a spaCy pipeline by package name or path (default: `spacy_model_name`)."""
    import spacy

    name = name or spacy_model_name()
    try:
        return spacy.load(name, exclude=list(_UNUSED))
    except OSError as error:
        raise ModelLoadError(f"spaCy pipeline {name!r} is not installed or not a pipeline directory") from error


def piece_bounds(text: str, limit: int = PIECE_CHARS) -> list[tuple[int, int]]:
    """Cut `text` into consecutive ``[start, end)`` pieces of at most `limit` characters, covering it all.

    Each cut falls after the last blank line of the window, else after its last sentence end, else after
    its last whitespace; a window with none is cut at `limit` (a word longer than a piece is split).
    """
    if limit <= 0:
        raise ValueError(f"limit must be > 0, got {limit}")
    bounds = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = limit
        for pattern in _CUTS:
            ends = [match.end() for match in pattern.finditer(window) if match.end() < limit]
            if ends:
                cut = ends[-1]
                break
        bounds.append((start, start + cut))
        start += cut
    bounds.append((start, len(text)))
    return bounds


class SpacyParser:
    """Turn documents into `ParsedDocument` records; the spaCy pipeline loads on first use.

    Args:
        piece_chars: the most characters spaCy reads at once of a long document (see `piece_bounds`).
        whole_chars: documents up to this length are read in one piece.
        max_document_chars: the longest document a build reads (`kgbuild.pipeline` fails longer ones alone).

    """

    def __init__(
        self,
        name: str | None = None,
        batch_size: int = 64,
        piece_chars: int = PIECE_CHARS,
        max_document_chars: int = MAX_DOCUMENT_CHARS,
        whole_chars: int = WHOLE_CHARS,
    ):
        if piece_chars <= 0 or max_document_chars <= 0:
            raise ValueError(f"piece_chars and max_document_chars must be > 0, got {piece_chars}, {max_document_chars}")
        self.name = name
        self.batch_size = batch_size
        self.piece_chars = piece_chars
        self.whole_chars = whole_chars
        self.max_document_chars = max_document_chars
        self._nlp: Any = None

    @property
    def nlp(self) -> Any:
        """The loaded spaCy pipeline."""
        if self._nlp is None:
            self._nlp = load_spacy(self.name)
            self._nlp.max_length = max(self._nlp.max_length, self.piece_chars, self.whole_chars)
        return self._nlp

    def parse(self, documents: Iterable[Document]) -> Iterator[ParsedDocument]:
        """Parse documents in order, each long one in pieces.

        Raises:
            InputTextError: a document's text is empty or whitespace.

        """

        def pieces() -> Iterator[tuple[str, tuple[Document, int, bool]]]:
            for document in documents:
                text = _check(document).text
                bounds = [(0, len(text))] if len(text) <= self.whole_chars else piece_bounds(text, self.piece_chars)
                for start, end in bounds:
                    yield document.text[start:end], (document, start, end == len(document.text))

        words = _Words()
        for doc, (document, start, last) in self.nlp.pipe(pieces(), as_tuples=True, batch_size=self.batch_size):
            words.add(doc, start)
            if last:
                yield words.parsed(document)
                words = _Words()


def _check(document: Document) -> Document:
    if not document.text.strip():
        raise InputTextError(f"document {document.id!r}: empty text")
    return document


def to_parsed(document: Document, doc: Any) -> ParsedDocument:
    """Convert a spaCy `Doc` of `document.text` into a `ParsedDocument` (whitespace tokens dropped)."""
    words = _Words()
    words.add(doc, 0)
    return words.parsed(document)


class _Words:
    """Words, sentences and entities of one document, gathered from the `Doc` of each of its pieces."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.sentence_starts: list[int] = []
        self.named: list[tuple[Span, str]] = []

    def add(self, doc: Any, offset: int) -> None:
        """Append the words of `doc`, a piece of the document beginning at character `offset`."""
        word_of: dict[int, int] = {}  # spaCy token index -> word index
        for sentence in doc.sents:
            first = len(self.tokens)
            for token in sentence:
                if token.is_space:
                    continue
                word_of[token.i] = len(self.tokens)
                self.tokens.append(token.text)
                self.starts.append(offset + token.idx)
                self.ends.append(offset + token.idx + len(token.text))
            if len(self.tokens) > first:
                self.sentence_starts.append(first)
        for entity in doc.ents:
            words = [word_of[i] for i in range(entity.start, entity.end) if i in word_of]
            if words:
                self.named.append((Span(words[0], words[-1] + 1), entity.label_))

    def parsed(self, document: Document) -> ParsedDocument:
        text = TokenizedText(tuple(self.tokens), tuple(self.sentence_starts) or (0,), document.id)
        return ParsedDocument(document, text, tuple(self.starts), tuple(self.ends), tuple(self.named))
