"""Records for tests: a `ParsedDocument` from text whose words are separated by spaces."""

from __future__ import annotations

from kgbuild.records import Document, ParsedDocument, Span, TokenizedText


def parsed_document(
    text: str, title: str = "", doc_id: str = "d", named: tuple[tuple[Span, str], ...] = ()
) -> ParsedDocument:
    """Split `text` on whitespace into words with their character offsets (one sentence)."""
    tokens, starts, position = [], [], 0
    for token in text.split():
        position = text.index(token, position)
        tokens.append(token)
        starts.append(position)
        position += len(token)
    ends = tuple(s + len(t) for s, t in zip(starts, tokens, strict=True))
    return ParsedDocument(Document(doc_id, text, title), TokenizedText(tuple(tokens)), tuple(starts), ends, named)
