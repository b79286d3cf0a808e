"""Knowledge distillation: a large teacher's span and relation scores as soft targets for a small student.

The teacher (say, the 12-layer MPNet extractor) reads every training text once. For labelled texts
it scores the gold entities; unlabelled passages (any corpus, never the search benchmark's) are first
pseudo-labelled with the teacher's own entities and relations. Its soft targets are, per text:

- the entity head's type distribution over every word span (``words x max width x types + 1``);
- each ordered entity pair's relation margins, ``logit(relation) - logit(threshold)`` (ATLOP's
  adaptive threshold: a relation holds where its margin is positive).

An ensemble of teachers (several trained models with the same labels) gives the mixture of its
members' span distributions and the mean of their relation margins (`average_targets`).

The student adds to its gold loss ``weight * T^2 * (KL(teacher spans || student spans) +
BCE(sigmoid(student margins / T), sigmoid(teacher margins / T)))``, with temperature ``T`` (Hinton
et al., 2015). Both models work on words, not word pieces, so teacher and student may use
different tokenizers; they must share entity types, relation labels and the longest span.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from kgbuild.errors import LabelError
from kgbuild.extraction.extractor import RelationExtractor
from kgbuild.extraction.features import encode_words
from kgbuild.extraction.model import ExtractorConfig, JointExtractor, all_pairs, mention_table
from kgbuild.records import EntityAnnotation, Example, RelationAnnotation, TokenizedText


@dataclass(frozen=True)
class Distillation:
    """How a student learns from a teacher's soft targets next to the gold labels."""

    weight: float = 1.0
    temperature: float = 2.0
    gold_floor: float | None = None  # a gold relation's teacher margin is raised to at least this (logits)

    def __post_init__(self) -> None:
        """Reject values that cannot train."""
        if self.weight < 0 or self.temperature <= 0:
            raise ValueError(
                f"distillation weight must be >= 0 and temperature > 0, got {self.weight}, {self.temperature}"
            )

    def key(self) -> str:
        """Return what the run fingerprint records: the gold floor only when set (older runs still resume)."""
        if self.gold_floor is None:
            return f"Distillation(weight={self.weight}, temperature={self.temperature})"
        return repr(self)


@dataclass(frozen=True)
class SoftTargets:
    """A teacher's scores for one text: span log-probabilities and pair margins (fp16)."""

    span_log_probs: Tensor  # (words, max width, types + 1)
    margins: Tensor  # (pairs of `all_pairs(len(entities))`, relations)


def check_compatible(first: ExtractorConfig, other: ExtractorConfig, what: str) -> None:
    """Raise `LabelError` unless two models' configs share entity types, labels and span width.

    Args:
        what: the two models, for the message ("teachers A and B").

    """
    for name in ("entity_types", "relation_types", "max_span_width"):
        if getattr(first, name) != getattr(other, name):
            raise LabelError(f"{what} differ in {name}: {getattr(first, name)} vs {getattr(other, name)}")


def pseudo_label(teacher: RelationExtractor, texts: Sequence[TokenizedText], batch_size: int = 16) -> list[Example]:
    """Label unlabelled texts with the teacher's entities and (calibrated) relations."""
    examples = []
    for text, found in zip(texts, teacher.extract(texts, batch_size=batch_size), strict=True):
        entities = tuple(EntityAnnotation(entity.mentions, entity.type) for entity in found.entities)
        relations = tuple(RelationAnnotation(r.head, r.tail, r.label) for r in found.relations)
        examples.append(Example(text, entities, relations))
    return examples


def teach(teacher: RelationExtractor, examples: Sequence[Example], batch_size: int = 8) -> list[SoftTargets]:
    """Return the teacher's soft targets for each example (its entities given)."""
    model = teacher.model.eval()
    targets: list[SoftTargets] = []
    with torch.inference_mode():
        for first in range(0, len(examples), batch_size):
            batch = examples[first : first + batch_size]
            encoded = [encode_words(teacher.tokenizer, example.text.tokens) for example in batch]
            words, word_mask = model.encode(encoded)
            parts = model.span_parts(words)
            logits, _ = model.span_logits(parts, word_mask)
            pair_logits_per_text = pair_logits(model, batch, words, word_mask, parts)
            for row, example in enumerate(batch):
                count = len(example.text.tokens)
                log_probs = logits[row, :count].log_softmax(-1).half()
                margins = pair_logits_per_text[row][:, 1:] - pair_logits_per_text[row][:, :1]
                targets.append(SoftTargets(log_probs.clone(), margins.half().clone()))
    return targets


def average_targets(per_teacher: Sequence[Sequence[SoftTargets]]) -> list[SoftTargets]:
    """Return an ensemble's soft targets: its members' span distributions mixed, their margins averaged.

    `per_teacher` holds each member's targets for the same examples, in the same order.
    """
    if not per_teacher:
        raise ValueError("an ensemble needs at least one teacher")
    members = len(per_teacher)
    if members == 1:
        return list(per_teacher[0])
    averaged = []
    for targets in zip(*per_teacher, strict=True):
        spans = torch.stack([t.span_log_probs.float() for t in targets]).logsumexp(0) - math.log(members)
        margins = torch.stack([t.margins.float() for t in targets]).mean(0)
        averaged.append(SoftTargets(spans.half(), margins.half()))
    return averaged


def pair_logits(
    model: JointExtractor,
    examples: Sequence[Example],
    words: Tensor,
    word_mask: Tensor,
    parts: tuple[Tensor, Tensor, Tensor],
) -> list[Tensor]:
    """Score every ordered pair of each example's entities: ``(pairs, relations + 1)`` per example."""
    return [logits for logits, _ in pair_scores(model, examples, words, word_mask, parts)]


def pair_scores(
    model: JointExtractor,
    examples: Sequence[Example],
    words: Tensor,
    word_mask: Tensor,
    parts: tuple[Tensor, Tensor, Tensor],
) -> list[tuple[Tensor, Tensor]]:
    """`pair_logits` with each pair's attention over the words ``(pairs, words)`` (`relation_scores`)."""
    config = model.config
    device = words.device
    scored = []
    for row, example in enumerate(examples):
        if len(example.entities) < 2:
            scored.append((words.new_zeros((0, len(config.relation_types) + 1)), words.new_zeros((0, words.shape[1]))))
            continue
        spans, owner = mention_table(example.entities, example.text.tokens, config, device)
        types = torch.tensor([config.entity_types.index(e.type) for e in example.entities], device=device)
        pairs = all_pairs(len(example.entities), device)
        states = model.mention_states(parts, row, spans)
        scored.append(model.relation_scores(words[row], word_mask[row], states, owner, types, pairs, spans))
    return scored


def soft_loss(
    span_logits: Tensor,
    valid: Tensor,
    pair_scores: Sequence[Tensor | None],
    targets: Sequence[SoftTargets],
    sentences: int,
    temperature: float = 2.0,
    gold: Sequence[Tensor] | None = None,
    gold_floor: float | None = None,
) -> Tensor:
    """Return the student's distance to the teacher's soft targets over a batch, scaled by ``T^2``.

    Args:
        span_logits: the student's ``(batch, words, max width, types + 1)``; valid: its span mask.
        pair_scores: per example, the student's ``(pairs, relations + 1)`` over `all_pairs`, or None
            for an example with fewer than two entities.
        sentences: sentences in the batch: the span term is summed over spans and averaged per
            sentence, as the gold entity loss is.
        gold: per example with scored pairs (in order), its ``(pairs, relations + 1)`` gold labels;
            with a `gold_floor`, where one is set, the teacher's margin is raised to at least it, so that the
            soft target never argues against a gold relation the teacher missed (a rare relation's,
            such as kinship, most often).

    """
    span_terms = []
    for row, target in enumerate(targets):
        count = target.span_log_probs.shape[0]
        mask = valid[row, :count]
        student = (span_logits[row, :count] / temperature).log_softmax(-1)[mask]
        teacher = (target.span_log_probs.float() / temperature).log_softmax(-1)[mask]
        span_terms.append(F.kl_div(student, teacher, log_target=True, reduction="sum"))
    loss = torch.stack(span_terms).sum() / max(sentences, 1)
    pair_terms = []
    labels = iter(gold) if gold is not None and gold_floor is not None else None
    for logits, target in zip(pair_scores, targets, strict=True):
        if logits is not None and logits.shape[0]:
            if logits.shape[0] != target.margins.shape[0]:
                raise ValueError(
                    f"teacher scored {target.margins.shape[0]} entity pairs, the student {logits.shape[0]}"
                )
            margins = logits[:, 1:] - logits[:, :1]
            taught = target.margins.float()
            if labels is not None:
                taught = torch.where(next(labels)[:, 1:] > 0, taught.clamp(min=gold_floor), taught)
            soft = torch.sigmoid(taught / temperature)
            bce = F.binary_cross_entropy_with_logits(margins / temperature, soft, reduction="none")
            pair_terms.append(bce.sum(1).mean())
    if pair_terms:
        loss = loss + torch.stack(pair_terms).mean()
    return loss * temperature**2


def unlabelled_texts(paths: Sequence[str | Path], limit: int = 0) -> list[TokenizedText]:
    """Read and parse unlabelled corpora (any `kgbuild extract` corpus) into sentences of words.

    Args:
        limit: at most this many documents of each corpus (0: all).

    """
    from itertools import islice

    from kgbuild.corpus import CorpusProblem, read_corpus
    from kgbuild.parsing import SpacyParser

    parser = SpacyParser()
    texts: list[TokenizedText] = []
    for path in paths:
        documents = (d for d in read_corpus(path) if not isinstance(d, CorpusProblem))
        chosen = islice(documents, limit) if limit else documents
        texts.extend(parsed.text for parsed in parser.parse(chosen) if parsed.text.tokens)
    return texts


def save_targets(path: Path, examples: Sequence[Example], targets: Sequence[SoftTargets]) -> None:
    """Cache a teacher's pseudo-labelled examples and soft targets (tensors only: loads without pickle)."""
    from kgbuild.extraction.checkpoint import replace_file

    rows = [
        {
            "tokens": list(x.text.tokens),
            "sentence_starts": list(x.text.sentence_starts),
            "id": x.text.id,
            "entities": [[[[m.start, m.end] for m in e.mentions], e.type] for e in x.entities],
            "relations": [[r.head, r.tail, r.label] for r in x.relations],
        }
        for x in examples
    ]
    payload = {
        "examples": json.dumps(rows),
        "spans": [t.span_log_probs for t in targets],
        "margins": [t.margins for t in targets],
    }
    replace_file(path, lambda sink: torch.save(payload, sink))


def load_targets(path: Path) -> tuple[list[Example], list[SoftTargets]]:
    """Read what `save_targets` wrote."""
    from kgbuild.records import Span

    payload = torch.load(path, map_location="cpu", weights_only=True)
    examples = [
        Example(
            TokenizedText(tuple(row["tokens"]), tuple(row["sentence_starts"]), row["id"]),
            tuple(EntityAnnotation(tuple(Span(a, b) for a, b in spans), kind) for spans, kind in row["entities"]),
            tuple(RelationAnnotation(h, t, label) for h, t, label in row["relations"]),
        )
        for row in json.loads(payload["examples"])
    ]
    targets = [SoftTargets(a, b) for a, b in zip(payload["spans"], payload["margins"], strict=True)]
    return examples, targets
