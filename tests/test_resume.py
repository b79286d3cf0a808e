"""A real SIGKILL in the middle of extraction, then a resumed run: the same graph as an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _corpus(path: Path) -> Path:
    sentences = [
        "Betsy Ross was born in Philadelphia.", "Rome is in Lazio.", "Mikhail Shevtsov works for ITAR-TASS.",
        "Naples is in Campania.", "Bruno Pusterla works for the Italian Agricultural Confederation.",
    ]  # fmt: skip
    rows = [{"id": f"d{i:02d}", "text": " ".join(sentences[i % 5 :] + sentences[: i % 5])} for i in range(40)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _extract(corpus: Path, out: Path, model: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "kgbuild", "extract", str(corpus), "--out", str(out), "--model", model]
    command += ["--batch-size", "1", "--min-confidence", "0", "--show", "0"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _document_lines(kg: Path) -> set[str]:
    return {line for file in (kg / "documents").glob("*.nq") for line in file.read_text().splitlines()}


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc; none elsewhere)."""
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in listing.read_text().split()] if listing.exists() else []


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] not in ("Z", "X")


def test_killed_run_resumes_to_the_same_graph(tiny_model, tmp_path):
    corpus = _corpus(tmp_path / "corpus.jsonl")
    whole = _extract(corpus, tmp_path / "whole", tiny_model)
    assert whole.wait(timeout=300) == 0, whole.stdout.read().decode() if whole.stdout else ""
    killed = _extract(corpus, tmp_path / "killed", tiny_model)
    documents = tmp_path / "killed" / "documents"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(documents.glob("*.nq"))) < 5:
        time.sleep(0.05)
    workers = _children(killed.pid)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if _running(pid)]  # the worker processes left with their parent
    written = len(list(documents.glob("*.nq")))
    assert 5 <= written < 40, written
    for file in documents.glob("*.nq"):  # every graph file is complete: a header and whole lines
        assert file.read_text().startswith("# kgbuild ") and file.read_text().endswith("\n")
    resumed = _extract(corpus, tmp_path / "killed", tiny_model)
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output
    assert f"{40 - written} documents extracted" in output and f"{written} unchanged" in output
    assert _document_lines(tmp_path / "killed") == _document_lines(tmp_path / "whole")
    assert not list(documents.glob(".*.partial"))  # leftovers of the killed write are cleaned up


def test_a_library_build_below_the_decision_asks_the_extractor_for_its_candidates(tmp_path):
    from types import SimpleNamespace

    from kgbuild import KnowledgeGraphDir, build_knowledge_graph

    extractor = SimpleNamespace(relation_floor=0.5)
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    seen = []
    parser = SimpleNamespace(parse=lambda documents: seen.append(extractor.relation_floor) or iter(list(documents)))
    build_knowledge_graph([], kg, extractor, parser, "m", "1", min_confidence=0.3)
    build_knowledge_graph([], kg, extractor, parser, "m", "1", min_confidence=0.8)
    assert seen == [0.3, 0.5]  # above the decision the extractor's own rule already holds
    assert extractor.relation_floor == 0.5  # the caller's extractor is left as it was
