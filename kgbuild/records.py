"""Typed records that cross stage boundaries in `kgbuild`.

Token offsets are word indices into `TokenizedText.tokens`, end-exclusive, as in the
CoNLL04 JSON format. Every record is frozen and slotted: stages hand them on, never mutate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A half-open range of word indices ``[start, end)``."""

    start: int
    end: int

    @property
    def width(self) -> int:
        """Number of words in the span."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class EntityAnnotation:
    """A gold entity: one or more mentions of the same thing, with one type."""

    mentions: tuple[Span, ...]
    type: str


@dataclass(frozen=True, slots=True)
class RelationAnnotation:
    """A gold relation between two entities, by their index in `Example.entities`.

    `evidence`: the sentences (indices into the text's sentences) that state it, where the data says
    (Re-DocRED); neither compared nor shown, so a relation is the same whatever its evidence.
    """

    head: int
    tail: int
    label: str
    evidence: tuple[int, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class TokenizedText:
    """Words of a text with the index of the first word of every sentence."""

    tokens: tuple[str, ...]
    sentence_starts: tuple[int, ...] = (0,)
    id: str = ""


@dataclass(frozen=True, slots=True)
class Example:
    """A training or evaluation example: a tokenized text with gold entities and relations."""

    text: TokenizedText
    entities: tuple[EntityAnnotation, ...]
    relations: tuple[RelationAnnotation, ...]


@dataclass(frozen=True, slots=True)
class PredictedEntity:
    """An entity found by the extractor: its mentions, type and confidence in ``[0, 1]``."""

    mentions: tuple[Span, ...]
    type: str
    confidence: float


@dataclass(frozen=True, slots=True)
class PredictedRelation:
    """A relation found by the extractor between two `PredictedEntity` indices."""

    head: int
    tail: int
    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Extraction:
    """What the extractor found in one `TokenizedText`."""

    text: TokenizedText
    entities: tuple[PredictedEntity, ...] = ()
    relations: tuple[PredictedRelation, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """A document of the corpus: a stable id, its text, an optional title and metadata."""

    id: str
    text: str
    title: str = ""
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A document split into words and sentences, with each word's character offset in the text."""

    document: Document
    text: TokenizedText
    char_starts: tuple[int, ...]
    char_ends: tuple[int, ...]
    named: tuple[tuple[Span, str], ...] = ()  # spaCy's entities: word span and label ("DATE")

    def char_span(self, span: Span) -> tuple[int, int]:
        """Character offsets ``[start, end)`` of a word span in the document text."""
        return self.char_starts[span.start], self.char_ends[span.end - 1]

    def surface(self, span: Span) -> str:
        """Return the exact text of a word span."""
        start, end = self.char_span(span)
        return self.document.text[start:end]
