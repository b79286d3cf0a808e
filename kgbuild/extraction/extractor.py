"""Run a trained extractor over tokenized texts: typed entities and relations with confidences."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from kgbuild.errors import LabelError
from kgbuild.extraction.features import EncodedText, encode_words
from kgbuild.extraction.model import ExtractorConfig, JointExtractor, all_pairs, load_model, mention_table
from kgbuild.records import (
    EntityAnnotation,
    Extraction,
    PredictedEntity,
    PredictedRelation,
    Span,
    TokenizedText,
)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """A run of whole sentences of one text, short enough for one encoder window."""

    text_index: int
    first_word: int
    encoded: EncodedText
    tokens: tuple[str, ...]


class RelationExtractor:
    """A loaded extractor model with its tokenizer; `extract` is the whole inference API.

    A relation holds when its confidence (the sigmoid of its calibrated margin) reaches
    `relation_floor`: 0.5 is the calibrated decision; a lower floor also returns the candidates the
    model scored just below it, with their confidence, for a graph that weighs edges by it.
    """

    def __init__(self, model: JointExtractor, tokenizer: Any, fingerprint: str = "", relation_floor: float = 0.5):
        if not 0.0 < relation_floor < 1.0:
            raise ValueError(f"relation_floor must be in (0, 1), got {relation_floor}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.fingerprint = fingerprint
        self.relation_floor = relation_floor

    @classmethod
    def load(cls, model_dir: str | Path) -> RelationExtractor:
        """Load a model directory (see `kgbuild.extraction.model.save_model`)."""
        model, tokenizer = load_model(model_dir)
        return cls(model, tokenizer, weights_fingerprint(model_dir))

    @property
    def version(self) -> str:
        """The config's version and a digest of the weights: what provenance records."""
        return f"{self.config.version}+{self.fingerprint}" if self.fingerprint else self.config.version

    @property
    def _converses(self) -> list[tuple[int, int]]:
        index = {label: i for i, label in enumerate(self.config.relation_types)}
        pairs = self.config.relation_converses
        return [(index[label], index[converse]) for label, converse in pairs if label in index and converse in index]

    @property
    def config(self) -> ExtractorConfig:
        """The model's saved config: labels, entity types, base encoder, limits."""
        return self.model.config

    def extract(
        self,
        texts: Sequence[TokenizedText],
        batch_size: int = 32,
        gold_entities: Sequence[Sequence[EntityAnnotation]] | None = None,
    ) -> list[Extraction]:
        """Find entities and relations in every text.

        Long texts are cut into runs of whole sentences that fit one encoder window (a single
        longer sentence is encoded in overlapping windows), so nothing is truncated.
        With `gold_entities`, the entity head is skipped and relations are classified between
        the given entities, each text in one piece.

        Raises:
            LabelError: a gold entity type is unknown to the model.

        """
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        if gold_entities is not None and len(gold_entities) != len(texts):
            raise ValueError(f"got {len(gold_entities)} gold entity lists for {len(texts)} texts")
        chunks = list(self._chunks(texts, whole=gold_entities is not None))
        found: list[tuple[list[PredictedEntity], list[PredictedRelation]]] = [([], []) for _ in texts]
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].encoded.input_ids))
        with torch.inference_mode():
            for first in range(0, len(order), batch_size):
                batch = [chunks[i] for i in order[first : first + batch_size]]
                golds = None if gold_entities is None else [gold_entities[c.text_index] for c in batch]
                for chunk, (entities, relations) in zip(batch, self._extract_batch(batch, golds), strict=True):
                    entities_so_far, relations_so_far = found[chunk.text_index]
                    shift = len(entities_so_far)
                    entities_so_far.extend(_shift_entity(e, chunk.first_word) for e in entities)
                    relations_so_far.extend(
                        PredictedRelation(r.head + shift, r.tail + shift, r.label, r.confidence) for r in relations
                    )
        return [
            Extraction(text, tuple(entities), tuple(relations), () if text.tokens else ("empty text",))
            for text, (entities, relations) in zip(texts, found, strict=True)
        ]

    def _chunks(self, texts: Sequence[TokenizedText], whole: bool) -> Iterator[_Chunk]:
        content = self.config.max_length - 2
        for index, text in enumerate(texts):
            if not text.tokens:
                continue
            encoded = encode_words(self.tokenizer, text.tokens)
            if whole:
                yield _Chunk(index, 0, encoded, text.tokens)
                continue
            for first, end in chunk_bounds(encoded, text.sentence_starts, content):
                yield _slice(index, encoded, text.tokens, first, end)

    def _extract_batch(
        self, chunks: list[_Chunk], golds: list[Sequence[EntityAnnotation]] | None
    ) -> list[tuple[list[PredictedEntity], list[PredictedRelation]]]:
        model = self.model
        words, word_mask = model.encode([chunk.encoded for chunk in chunks])
        parts = model.span_parts(words)
        if golds is None:
            logits, valid = model.span_logits(parts, word_mask)
            probabilities = logits.softmax(-1).masked_fill(~valid[..., None], 1.0)
            entity_lists = [self._decode_entities(probabilities[row], chunk.tokens) for row, chunk in enumerate(chunks)]
        else:
            entity_lists = [[self._gold_entity(entity) for entity in gold] for gold in golds]
        results = []
        for row, entities in enumerate(entity_lists):
            results.append(
                (entities, self._relations(words[row], word_mask[row], parts, row, entities, chunks[row].tokens))
            )
        return results

    def _gold_entity(self, entity: EntityAnnotation) -> PredictedEntity:
        if entity.type not in self.config.entity_types:
            raise LabelError(
                f"entity type {entity.type!r} is unknown to the model (knows {', '.join(self.config.entity_types)})"
            )
        return PredictedEntity(entity.mentions, entity.type, 1.0)

    def _decode_entities(self, probabilities: Tensor, tokens: Sequence[str]) -> list[PredictedEntity]:
        """Greedy non-overlapping spans more likely entities than not, most confident first."""
        best, label = probabilities[..., 1:].max(-1)
        candidates = (probabilities[..., 0] < 0.5).nonzero().tolist()
        candidates.sort(key=lambda c: -float(best[c[0], c[1]]))
        taken: set[int] = set()
        mentions: list[tuple[Span, str, float]] = []
        for start, width_index in candidates:
            span = Span(start, start + width_index + 1)
            if taken.isdisjoint(range(span.start, span.end)):
                taken.update(range(span.start, span.end))
                entity_type = self.config.entity_types[int(label[start, width_index])]
                mentions.append((span, entity_type, float(best[start, width_index])))
        mentions.sort()
        if not self.config.document_level:
            return [PredictedEntity((span,), kind, score) for span, kind, score in mentions]
        return _group_mentions(mentions, tokens)

    def _relations(
        self,
        words: Tensor,
        word_mask: Tensor,
        parts: tuple[Tensor, Tensor, Tensor],
        row: int,
        entities: list[PredictedEntity],
        tokens: Sequence[str],
    ) -> list[PredictedRelation]:
        if len(entities) < 2:
            return []
        spans, owner = mention_table(entities, tokens, self.config, words.device)
        types = torch.tensor([self.config.entity_types.index(e.type) for e in entities], device=words.device)
        pairs = all_pairs(len(entities), words.device)
        states = self.model.mention_states(parts, row, spans)
        logits, _ = self.model.relation_scores(words, word_mask, states, owner, types, pairs, spans)
        margin = converse_margins(logits[:, 1:] - logits[:, :1], len(entities), self._converses)
        margin = margin - self.config.relation_threshold
        signatures = set(self.config.relation_signatures)
        relations = []
        floor = math.log(self.relation_floor / (1 - self.relation_floor))  # 0 at the calibrated 0.5
        for pair_index, label_index in (margin > floor).nonzero().tolist():
            head, tail = pairs[pair_index].tolist()
            label = self.config.relation_types[label_index]
            if signatures and (label, entities[head].type, entities[tail].type) not in signatures:
                continue
            confidence = float(torch.sigmoid(margin[pair_index, label_index]))
            relations.append(PredictedRelation(head, tail, label, confidence))
        return relations


def converse_margins(margin: Tensor, count: int, converses: Sequence[tuple[int, int]]) -> Tensor:
    """Raise each pair's margin for a converse to the margin of the label it converts, read the other way.

    `margin` has one row per ordered pair of `all_pairs(count)`; a converse ``(r, c)`` (column indices)
    lifts ``(t, h, c)`` to at least ``(h, t, r)``. Every rule reads the margins as the model gave them.
    """
    if not converses or count < 2:
        return margin
    heads, tails = all_pairs(count, margin.device).unbind(1)
    # all_pairs lists (h, t), h != t, row-major: (t, h) sits at t * (count - 1) + h - (h > t)
    reverse = tails * (count - 1) + heads - (heads > tails).long()
    lifted = margin.clone()
    for label, converse in converses:
        lifted[:, converse] = torch.maximum(lifted[:, converse], margin[reverse, label])
    return lifted


def weights_fingerprint(model_dir: str | Path) -> str:
    """Return the first 12 hex digits of the SHA-256 of a model directory's config and weights."""
    digest = hashlib.sha256()
    for name in ("config.json", "encoder.safetensors", "heads.safetensors"):
        digest.update((Path(model_dir) / name).read_bytes())
    return digest.hexdigest()[:12]


def chunk_bounds(encoded: EncodedText, sentence_starts: Sequence[int], content: int) -> list[tuple[int, int]]:
    """Pack whole sentences into word ranges of at most `content` word pieces.

    A sentence longer than that is cut between words; every word lands in exactly one range.
    """
    count = encoded.num_words

    def piece(word: int) -> int:
        return encoded.word_starts[word] if word < count else len(encoded.input_ids)

    cuts = sorted({0, *(s for s in sentence_starts if 0 < s < count)})
    units = []
    for start, end in zip(cuts, [*cuts[1:], count], strict=True):
        for word in range(start + 1, end):
            if piece(word + 1) - piece(start) > content:
                units.append((start, word))
                start = word
        units.append((start, end))
    bounds = []
    first, last = units[0]
    for start, end in units[1:]:
        if piece(end) - piece(first) > content:
            bounds.append((first, last))
            first = start
        last = end
    bounds.append((first, last))
    return bounds


def _slice(index: int, encoded: EncodedText, tokens: tuple[str, ...], first: int, end: int) -> _Chunk:
    start_piece = encoded.word_starts[first]
    end_piece = encoded.word_starts[end] if end < encoded.num_words else len(encoded.input_ids)
    starts = tuple(s - start_piece for s in encoded.word_starts[first:end])
    piece = EncodedText(encoded.input_ids[start_piece:end_piece], encoded.shape_ids[start_piece:end_piece], starts)
    return _Chunk(index, first, piece, tokens[first:end])


def _shift_entity(entity: PredictedEntity, offset: int) -> PredictedEntity:
    if not offset:
        return entity
    mentions = tuple(Span(m.start + offset, m.end + offset) for m in entity.mentions)
    return PredictedEntity(mentions, entity.type, entity.confidence)


def _group_mentions(mentions: list[tuple[Span, str, float]], tokens: Sequence[str]) -> list[PredictedEntity]:
    """Join mentions of one document that share their words and type (document-level models)."""
    groups: dict[tuple[str, str], list[tuple[Span, float]]] = {}
    for span, kind, score in mentions:
        key = (" ".join(tokens[span.start : span.end]).lower(), kind)
        groups.setdefault(key, []).append((span, score))
    return [
        PredictedEntity(tuple(s for s, _ in members), kind, max(score for _, score in members))
        for (_, kind), members in groups.items()
    ]
