import math

import pytest
import torch

from kgsearch.evaluate import Question, evaluate_rankings, ndcg_at, recall_at
from kgsearch.losses import in_batch_softmax_loss


def test_in_batch_softmax_loss_matches_a_hand_computation() -> None:
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    passages = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]])  # positives, then a hard negative
    scale = 2.0
    # Query 0 scores 2*[1, 0.6, 0]; query 1 scores 2*[0, 0.8, -1]; targets 0 and 1.
    first = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(1.2) + math.exp(0.0)))
    second = -math.log(math.exp(1.6) / (math.exp(0.0) + math.exp(1.6) + math.exp(-2.0)))
    loss = in_batch_softmax_loss(queries, passages, scale)
    assert float(loss) == pytest.approx((first + second) / 2, rel=1e-6)


def test_masked_passages_leave_the_denominator() -> None:
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    passages = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    mask = torch.tensor([[False, True], [False, False]])  # passage 1 also answers query 0
    loss = in_batch_softmax_loss(queries, passages, 2.0, mask)
    second = -math.log(math.exp(1.6) / (math.exp(0.0) + math.exp(1.6)))
    assert float(loss) == pytest.approx((0.0 + second) / 2, abs=1e-6)


def test_loss_needs_a_passage_per_query() -> None:
    with pytest.raises(ValueError, match="at least one passage per query"):
        in_batch_softmax_loss(torch.ones(3, 2), torch.ones(2, 2))


def test_the_loss_falls_as_positives_move_closer() -> None:
    queries = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.1, 1.0]]), dim=-1)
    far = torch.nn.functional.normalize(torch.tensor([[0.2, 1.0], [1.0, 0.1]]), dim=-1)
    near = queries.clone()
    assert float(in_batch_softmax_loss(queries, near)) < float(in_batch_softmax_loss(queries, far))


def test_recall_and_ndcg_by_hand() -> None:
    ranked = ["a", "x", "b", "y"]
    assert recall_at(ranked, ["a", "b"], 1) == 0.5
    assert recall_at(ranked, ["a", "b"], 2) == 0.5
    assert recall_at(ranked, ["a", "b"], 3) == 1.0
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at(ranked, ["a", "b"], 10) == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert ndcg_at(["x", "y"], ["a"], 10) == 0.0


def test_evaluate_rankings_reports_overall_and_per_type() -> None:
    questions = [Question("1", "q1", ("a", "b"), "bridge"), Question("2", "q2", ("c",), "comparison")]
    rankings = {"1": ["a", "z", "b"], "2": ["c"]}
    report = evaluate_rankings(questions, lambda q: rankings[q.id], ks=(1, 2, 5))
    assert report["all"]["R@1"] == pytest.approx((50 + 100) / 2)
    assert report["all"]["R@5"] == 100
    assert report["bridge"]["R@2"] == 50 and report["bridge"]["questions"] == 1
    assert report["comparison"]["nDCG@10"] == 1.0
