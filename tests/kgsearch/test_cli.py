import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgsearch.cli import app
from tests.kgsearch.conftest import CORPUS

runner = CliRunner()
QUESTION = "Who is the director of Polish Wedding?"


@pytest.fixture()
def kg_copy(search_kg: Path, tmp_path: Path) -> Path:
    path = tmp_path / "kg"
    shutil.copytree(search_kg, path)
    return path


def _index(kg: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["index", str(kg), "--corpus", str(CORPUS), "--encoder", "hashing", *extra])


def test_index_then_query_prints_explained_hits_as_json(kg_copy: Path) -> None:
    built = _index(kg_copy)
    assert built.exit_code == 0, built.output
    assert "indexed 5 passages" in built.output and "exact vector search" in built.output
    answered = runner.invoke(app, ["query", str(kg_copy), QUESTION, "-k", "2", "--json"])
    assert answered.exit_code == 0, answered.output
    result = json.loads(answered.output)
    hits = {hit["passage"]["id"]: hit for hit in result["hits"]}
    assert set(hits) == {"polish-wedding", "theresa-connelly"}  # the film and its director, in either order
    assert result["relation_cues"] == ["P57"]
    path = hits["theresa-connelly"]["path"]
    assert path[0]["kind"] == "mention" and path[-1]["kind"] == "title"
    assert any(hop["predicate_label"] == "director" and "Theresa Connelly" in hop["sentence"] for hop in path)


def test_query_prints_the_path_in_words(kg_copy: Path) -> None:
    assert _index(kg_copy).exit_code == 0
    answered = runner.invoke(app, ["query", str(kg_copy), QUESTION, "-k", "2"])
    assert answered.exit_code == 0, answered.output
    assert "relation cues: P57" in answered.output
    assert "--director-->" in answered.output and "Theresa Connelly" in answered.output


def test_an_unknown_ann_kind_is_a_usage_error_and_writes_no_index(kg_copy: Path) -> None:
    refused = _index(kg_copy, "--ann", "flat")
    assert refused.exit_code == 2
    assert "error: --ann must be one of auto, exact, hnsw, got 'flat'" in refused.output
    assert not (kg_copy / "search").exists()


def test_hnsw_index_answers_like_the_exact_one(kg_copy: Path) -> None:
    pytest.importorskip("faiss")
    built = _index(kg_copy, "--ann", "hnsw")
    assert built.exit_code == 0, built.output
    assert "hnsw vector search" in built.output
    answered = runner.invoke(app, ["query", str(kg_copy), QUESTION, "-k", "2", "--json"])
    assert {hit["passage"]["id"] for hit in json.loads(answered.output)["hits"]} == {
        "polish-wedding",
        "theresa-connelly",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["   "], "error: the question is empty"),
        ([QUESTION, "--where", "?passage a kg:Document . FILTER("], "error: --where pattern"),
        ([QUESTION, "--where", "?x a kg:Person"], "must bind ?passage"),
        ([QUESTION, "-k", "0"], "error: k must be > 0, got 0"),
    ],
)
def test_bad_queries_exit_2_with_a_message_and_no_traceback(kg_copy: Path, arguments: list[str], message: str) -> None:
    assert _index(kg_copy).exit_code == 0
    refused = runner.invoke(app, ["query", str(kg_copy), *arguments])
    assert refused.exit_code == 2
    assert message in refused.output
    assert "Traceback" not in refused.output


def test_query_without_an_index_says_how_to_build_it(kg_copy: Path) -> None:
    refused = runner.invoke(app, ["query", str(kg_copy), QUESTION])
    assert refused.exit_code == 2
    assert f"no search index; build it with: kgsearch index {kg_copy} --corpus CORPUS" in refused.output


def test_evaluate_prints_recall_per_type_as_json(kg_copy: Path, tmp_path: Path) -> None:
    assert _index(kg_copy).exit_code == 0
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "q1", "question": QUESTION, "gold": ["polish-wedding", "theresa-connelly"], "type": "compositional"},
        {"id": "q2", "question": "Who starred in Polish Wedding?", "gold": ["lena-olin"], "type": "inference"},
    ]
    questions.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    scored = runner.invoke(app, ["evaluate", str(kg_copy), "--questions", str(questions), "--ks", "2,5", "--json"])
    assert scored.exit_code == 0, scored.output
    report = json.loads(scored.output)
    assert report["method"] == "fused"
    assert report["compositional"]["R@2"] == 100.0
    assert set(report["all"]) == {"questions", "R@2", "R@5", "nDCG@10"} and report["all"]["questions"] == 2
    assert report["inference"]["R@5"] == 100.0  # five passages: every gold passage is in the top 5


def test_evaluate_refuses_an_unknown_method(kg_copy: Path, tmp_path: Path) -> None:
    assert _index(kg_copy).exit_code == 0
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q", "question": QUESTION, "gold": ["x"]}) + "\n", encoding="utf-8")
    refused = runner.invoke(app, ["evaluate", str(kg_copy), "--questions", str(questions), "--method", "walk"])
    assert refused.exit_code == 2
    assert "--method must be one of fused, graph, graph-no-relations, dense, bm25" in refused.output
