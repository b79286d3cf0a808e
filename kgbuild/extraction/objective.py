"""The training objective of one batch, gold entities given.

The entity head's span loss (summed over spans, averaged per sentence, as PURE does), ATLOP's
adaptive-threshold relation loss (class-balanced with `class_weights`), and, where asked, the distance
to a teacher's soft targets (`kgbuild.extraction.distil`) and DREEAM's evidence loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from kgbuild.extraction.distil import Distillation, SoftTargets, pair_scores, soft_loss
from kgbuild.extraction.features import EncodedText
from kgbuild.extraction.losses import evidence_loss, threshold_loss
from kgbuild.extraction.model import JointExtractor, all_pairs
from kgbuild.records import Example


def batch_loss(
    model: JointExtractor,
    examples: Sequence[Example],
    encoded: Sequence[EncodedText],
    soft: Sequence[SoftTargets] | None = None,
    distillation: Distillation | None = None,
    lower: Sequence[Sequence[Tensor]] | None = None,
    weights: Tensor | None = None,
    evidence_weight: float = 0.0,
) -> Tensor:
    """Entity span loss plus adaptive-threshold relation loss over a batch, gold entities given.

    With `soft` targets (a teacher's, one per example) and `distillation` settings, the distance to
    them is added with its weight, on the same forward pass (`kgbuild.extraction.distil`). With
    `lower` (the cached frozen layers' states of each example's windows), only the top layers run.
    With `weights` (per relation, `class_weights`), the relation loss is class-balanced. With an
    `evidence_weight`, DREEAM's evidence loss on the pairs whose relations have evidence sentences is added.
    """
    config = model.config
    words, word_mask = model.encode(encoded, lower)
    parts = model.span_parts(words)
    logits, valid = model.span_logits(parts, word_mask)
    device = logits.device
    targets = torch.zeros(valid.shape, dtype=torch.long, device=device)
    for row, example in enumerate(examples):
        for entity in example.entities:
            label = config.entity_types.index(entity.type) + 1
            for mention in entity.mentions:
                if mention.width <= config.max_span_width:
                    targets[row, mention.start, mention.width - 1] = label
    # Summed over spans and averaged per sentence, not averaged over spans: gold spans are ~1% of
    # all spans, and a mean lets "no entity" everywhere look nearly free (PURE sums too).
    sentences = sum(len(example.text.sentence_starts) for example in examples)
    loss = F.cross_entropy(logits[valid], targets[valid], reduction="sum") / sentences
    scores = pair_scores(model, examples, words, word_mask, parts)  # empty for a text of fewer than 2 entities
    per_row = [scored for scored, _ in scores]
    relation_logits, relation_labels, evidence_terms = [], [], []
    for example, (scored, attention) in zip(examples, scores, strict=True):
        if not scored.shape[0]:
            continue
        pair_index = {(h, t): i for i, (h, t) in enumerate(all_pairs(len(example.entities)).tolist())}
        labels = torch.zeros(len(pair_index), len(config.relation_types) + 1, device=device)
        evidence: dict[int, list[int]] = {}
        for relation in example.relations:
            if relation.head != relation.tail:
                index = pair_index[relation.head, relation.tail]
                labels[index, config.relation_types.index(relation.label) + 1] = 1
                evidence.setdefault(index, []).extend(relation.evidence)
        relation_logits.append(scored)
        relation_labels.append(labels)
        if evidence_weight:
            sentence = _word_sentences(example, attention.shape[1], device)
            evidence_terms.append(evidence_loss(attention, evidence, sentence))
    if relation_logits:
        loss = loss + threshold_loss(torch.cat(relation_logits), torch.cat(relation_labels), weights)
    if evidence_terms:
        loss = loss + evidence_weight * torch.stack(evidence_terms).mean()
    if soft is not None and distillation is not None and distillation.weight:
        teacher = soft_loss(
            logits, valid, per_row, soft, sentences, distillation.temperature, relation_labels, distillation.gold_floor
        )
        loss = loss + distillation.weight * teacher
    return loss


def _word_sentences(example: Example, width: int, device: torch.device) -> Tensor:
    """Return the sentence of each of `width` word positions; padding points one past the last sentence."""
    starts = example.text.sentence_starts
    sentence = torch.full((width,), len(starts), dtype=torch.long, device=device)
    bounds = [*starts, len(example.text.tokens)]
    for index in range(len(starts)):
        sentence[bounds[index] : min(bounds[index + 1], width)] = index
    return sentence
