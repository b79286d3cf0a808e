"""Fine-tune the bi-encoder: in-batch softmax loss with a BM25 hard negative per query, mean pooling.

Each step takes B pairs; the B positives and B hard negatives (a passage BM25 ranks high for the
query that is not one of its answers) are the candidates of every query in the batch. Word
embeddings stay frozen, so the saved encoder is the rest of the network in fp16 (about 22 MB for
all-MiniLM-L6-v2). Deterministic for a seed on one thread count.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kgsearch.encoder import FROZEN_PREFIX, load_encoder, save_encoder
from kgsearch.errors import TrainingError
from kgsearch.losses import in_batch_softmax_loss
from kgsearch.pairs import TrainingPair
from kgsearch.text import words

log = logging.getLogger("kgsearch.train")


@dataclass(frozen=True, slots=True)
class RetrieverTrainSettings:
    """Hyper-parameters of retriever fine-tuning."""

    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup: float = 0.1
    scale: float = 20.0
    hard_negatives: bool = True
    hard_negative_depth: int = 10
    max_length: int = 256
    seed: int = 13
    threads: int | None = None

    def __post_init__(self) -> None:
        """Refuse settings that cannot train."""
        if self.epochs <= 0 or self.batch_size < 2:
            raise ValueError(f"need epochs > 0 and batch_size >= 2, got {self.epochs} and {self.batch_size}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def train_retriever(
    pairs: Sequence[TrainingPair],
    passages: dict[str, str],
    out: Path,
    base_model: str,
    settings: RetrieverTrainSettings = RetrieverTrainSettings(),
) -> dict[str, Any]:
    """Fine-tune `base_model` on `pairs` and write the encoder to `out`; return the training record.

    Args:
        passages: passage id -> the text the encoder reads (title and text).

    Raises:
        TrainingError: a pair names a passage that is not in `passages`, or there are too few pairs.

    """
    import torch

    missing = sorted({p.passage for p in pairs if p.passage not in passages})
    if missing:
        raise TrainingError(f"{len(missing)} pairs name passages not in the corpus, e.g. {missing[:3]}")
    if len(pairs) < 2:
        raise TrainingError(f"need at least 2 training pairs, got {len(pairs)}")
    if settings.threads:
        torch.set_num_threads(settings.threads)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    started = time.monotonic()
    ids = sorted(passages)
    answers: dict[str, set[str]] = defaultdict(set)
    for pair in pairs:
        answers[pair.query].add(pair.passage)
    negatives = _hard_negatives(pairs, ids, passages, answers, settings) if settings.hard_negatives else {}

    encoder = load_encoder(base_model)
    encoder.max_length = min(settings.max_length, encoder.positions)
    model = encoder.model
    for name, parameter in model.named_parameters():
        parameter.requires_grad = not name.startswith(FROZEN_PREFIX)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)
    steps_per_epoch = (len(pairs) + settings.batch_size - 1) // settings.batch_size
    total = steps_per_epoch * settings.epochs
    warmup = max(1, int(settings.warmup * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    rng = random.Random(settings.seed)
    history = []
    model.train()
    for epoch in range(1, settings.epochs + 1):
        losses = []
        for batch in _batches(list(pairs), settings.batch_size, rng):
            texts = [passages[p.passage] for p in batch]
            batch_ids = [p.passage for p in batch]
            if negatives:
                extra = [rng.choice(negatives[p.query]) for p in batch if negatives[p.query]]
                texts += [passages[i] for i in extra]
                batch_ids += extra
            queries = encoder.embed([p.query for p in batch], encoder.query_max_length)
            candidates = encoder.embed(texts, encoder.max_length)
            mask = torch.tensor(
                [
                    [j != i and batch_ids[j] in answers[p.query] for j in range(len(batch_ids))]
                    for i, p in enumerate(batch)
                ]
            )
            loss = in_batch_softmax_loss(queries, candidates, settings.scale, mask)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if len(losses) % 10 == 0:
                log.info("epoch %d step %d/%d loss %.4f", epoch, len(losses), steps_per_epoch, sum(losses[-10:]) / 10)
        history.append({"epoch": epoch, "loss": round(sum(losses) / len(losses), 4)})
        log.info("epoch %d done: mean loss %.4f (%.0f s)", epoch, history[-1]["loss"], time.monotonic() - started)
    model.eval()
    record = {
        "training": {
            **asdict(settings),
            "pairs": len(pairs),
            "passages": len(passages),
            "history": history,
            "train_seconds": round(time.monotonic() - started, 1),
        }
    }
    encoder.name = out.name
    save_encoder(encoder, out, base_model, record)
    return record


def _batches(pairs: list[TrainingPair], size: int, rng: random.Random) -> list[list[TrainingPair]]:
    """Shuffle, then fill batches so that no passage is the positive of two queries in one batch."""
    rng.shuffle(pairs)
    batches: list[list[TrainingPair]] = []
    open_batches: list[tuple[list[TrainingPair], set[str]]] = []
    for pair in pairs:
        for batch, seen in open_batches:
            if len(batch) < size and pair.passage not in seen:
                batch.append(pair)
                seen.add(pair.passage)
                break
        else:
            open_batches.append(([pair], {pair.passage}))
        full = [b for b in open_batches if len(b[0]) >= size]
        batches += [b for b, _ in full]
        open_batches = [b for b in open_batches if len(b[0]) < size]
    batches += [b for b, _ in open_batches if len(b) >= 2]
    return batches


def _hard_negatives(
    pairs: Sequence[TrainingPair],
    ids: list[str],
    passages: dict[str, str],
    answers: dict[str, set[str]],
    settings: RetrieverTrainSettings,
) -> dict[str, list[str]]:
    """For each query, the passages BM25 ranks highest that are not among its answers."""
    import bm25s
    import numpy as np

    bm25 = bm25s.BM25(k1=1.5, b=0.75)
    bm25.index([words(passages[i]) for i in ids], show_progress=False)
    negatives: dict[str, list[str]] = {}
    for query in sorted({p.query for p in pairs}):
        scores = bm25.get_scores(words(query))
        top = np.argsort(-scores)[: settings.hard_negative_depth + len(answers[query])]
        negatives[query] = [ids[i] for i in top if ids[i] not in answers[query]][: settings.hard_negative_depth]
    return negatives
