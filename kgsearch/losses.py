"""The bi-encoder's training loss: softmax over in-batch passages (InfoNCE, "multiple negatives ranking")."""

from __future__ import annotations

from typing import Any


def in_batch_softmax_loss(queries: Any, passages: Any, scale: float = 20.0, mask: Any = None) -> Any:
    """Mean of ``-log exp(s(q_i, d_i)) / sum_j exp(s(q_i, d_j))`` with ``s = scale * cosine``.

    Args:
        queries: ``(B, dim)`` unit vectors.
        passages: ``(N, dim)`` unit vectors, N >= B: the B positives in query order, then any
            further negatives (hard negatives); every passage is a negative for the other queries.
        mask: optional ``(B, N)`` booleans, True where passage j is also a right answer to query i
            (j != i): those are left out of the denominator rather than pushed away.

    """
    import torch

    if passages.shape[0] < queries.shape[0]:
        raise ValueError(f"need at least one passage per query, got {passages.shape[0]} for {queries.shape[0]}")
    scores = scale * queries @ passages.T
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    targets = torch.arange(queries.shape[0], device=scores.device)
    return torch.nn.functional.cross_entropy(scores, targets)
