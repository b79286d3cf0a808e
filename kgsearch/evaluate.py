"""Retrieval evaluation: Recall@k and nDCG@10 over a questions file, overall and per question type.

A questions file is JSON Lines, one ``{"id", "question", "gold": [passage ids]}`` per line (an
optional ``type`` groups the scores). `beir_to_questions` writes one from a BEIR folder (SciFact).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgsearch.errors import QueryError

DEFAULT_KS = (1, 2, 5, 10)


@dataclass(frozen=True, slots=True)
class Question:
    """A question with the ids of the passages that answer it."""

    id: str
    question: str
    gold: tuple[str, ...]
    type: str = ""


def read_questions(path: str | Path) -> list[Question]:
    """Read a questions file.

    Raises:
        QueryError: the file is missing, or a line is not a question with gold passages (names file and line).

    """
    path = Path(path)
    if not path.is_file():
        raise QueryError(f"{path}: no such questions file")
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                gold = row["gold"]
                if not isinstance(gold, list) or not gold or not all(isinstance(g, str) for g in gold):
                    raise ValueError("gold must be a non-empty list of passage ids")
                questions.append(Question(str(row["id"]), str(row["question"]), tuple(gold), str(row.get("type", ""))))
            except (ValueError, KeyError, TypeError) as error:
                raise QueryError(f"{path}:{number}: {error!s}") from None
    if not questions:
        raise QueryError(f"{path}: no questions")
    return questions


def recall_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold passages among the first `k` ranked."""
    return len(set(ranked[:k]) & set(gold)) / len(set(gold))


def ndcg_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Binary-relevance nDCG@k."""
    relevant = set(gold)
    gain = sum(1 / math.log2(rank + 2) for rank, passage in enumerate(ranked[:k]) if passage in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gain / ideal


def evaluate_rankings(
    questions: Sequence[Question],
    rank: Callable[[Question], Sequence[str]],
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, Any]:
    """Score `rank` (question -> ranked passage ids) with Recall@k (percent) and nDCG@10, overall and per type."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    for question in questions:
        ranked = list(rank(question))
        for group in ("all", question.type) if question.type else ("all",):
            counts[group] += 1
            for k in ks:
                totals[group][f"R@{k}"] += 100 * recall_at(ranked, question.gold, k)
            totals[group]["nDCG@10"] += ndcg_at(ranked, question.gold, 10)
    report: dict[str, Any] = {}
    for group in sorted(totals, key=lambda g: (g != "all", g)):
        report[group] = {metric: round(value / counts[group], 4) for metric, value in totals[group].items()}
        report[group]["questions"] = counts[group]
    return report


def beir_to_questions(folder: str | Path, split: str, out: str | Path) -> int:
    """Write the questions of a BEIR folder's split (``queries.jsonl`` and ``qrels/SPLIT.tsv``); return how many.

    Raises:
        QueryError: the folder lacks the files (names the missing one).

    """
    folder = Path(folder)
    queries_file, qrels_file = folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for file in (queries_file, qrels_file):
        if not file.is_file():
            raise QueryError(f"{file}: missing (expected a BEIR folder)")
    texts = {}
    with queries_file.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                texts[str(row["_id"])] = row["text"]
    gold: dict[str, list[str]] = defaultdict(list)
    with qrels_file.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for row in reader:
            if len(row) >= 3 and row[0] != "query-id" and float(row[2]) > 0:
                gold[row[0]].append(row[1])
    lines = [
        json.dumps({"id": qid, "question": texts[qid], "gold": passages})
        for qid, passages in gold.items()
        if qid in texts
    ]
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)
