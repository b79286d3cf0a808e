"""Relation-classification losses.

ATLOP's adaptive threshold, class-balanced weights for it, and DREEAM's evidence supervision of the
pair attention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from kgbuild.extraction.model import MASKED


def threshold_loss(logits: Tensor, labels: Tensor, weights: Tensor | None = None) -> Tensor:
    """ATLOP's adaptive-threshold loss; `labels` is multi-hot ``(pairs, relations + 1)``, column 0 unused.

    With `weights` ``(relations + 1,)``, a gold relation's term (its logit above the threshold's) is
    weighted by its label's weight: class-balanced training (see `class_weights`).
    """
    labels = labels.clone()
    labels[:, 0] = 0
    threshold = torch.zeros_like(labels)
    threshold[:, 0] = 1
    positive = logits.masked_fill((labels + threshold) == 0, MASKED)
    loss_positive = -(F.log_softmax(positive, -1) * (labels if weights is None else labels * weights)).sum(1)
    negative = logits.masked_fill(labels == 1, MASKED)
    loss_negative = -(F.log_softmax(negative, -1) * threshold).sum(1)
    return (loss_positive + loss_negative).mean()


def class_weights(counts: Sequence[int], beta: float, cap: float = 10.0) -> Tensor:
    """Return ``(relations + 1,)`` loss weights from each relation's training count (threshold column: 1).

    The "effective number" of ``n`` examples is ``(1 - beta^n) / (1 - beta)`` (Cui et al., 2019); a
    label's weight is the most frequent label's effective number over its own, so the most frequent
    label keeps weight 1 and rarer ones weigh more, up to `cap` (uncapped, a label seen once would
    weigh ``1 / (1 - beta)`` times the most frequent one's: 200 at beta 0.995). A label without
    examples gets 1.
    """
    if not 0.0 < beta < 1.0:
        raise ValueError(f"class-balance beta must be in (0, 1), got {beta}")
    effective = [(1 - beta**n) / (1 - beta) for n in counts]
    top = max(effective, default=1.0)
    return torch.tensor([1.0] + [min(top / e, cap) if n else 1.0 for n, e in zip(counts, effective, strict=True)])


def evidence_loss(attention: Tensor, evidence: Mapping[int, Sequence[int]], word_sentence: Tensor) -> Tensor:
    """DREEAM's evidence loss: how far each pair's attention, summed per sentence, is from its evidence.

    Args:
        attention: ``(pairs, words)``, each row summing to 1 (`JointExtractor.relation_scores`).
        evidence: pair index -> the sentences stating its relations (a pair with none is left out).
        word_sentence: the sentence of each word ``(words,)``; padding words point past the last sentence.

    Returns the mean over the pairs with evidence of KL(uniform over the evidence sentences || the
    attention's sentence distribution); 0 when no pair has evidence.

    """
    pairs = sorted(index for index, sentences in evidence.items() if sentences)
    if not pairs:
        return attention.new_zeros(())
    count = int(word_sentence.max()) + 1
    rows = attention[torch.tensor(pairs, device=attention.device)]
    per_sentence = rows.new_zeros((len(pairs), count)).index_add_(1, word_sentence, rows)
    target = rows.new_zeros((len(pairs), count))
    for row, index in enumerate(pairs):
        sentences = sorted(set(evidence[index]))
        target[row, sentences] = 1.0 / len(sentences)
    predicted = per_sentence.clamp_min(1e-10).log()
    return F.kl_div(predicted, target, reduction="batchmean")
