"""Bad input for the Ray engine: a wrong engine, an address where no Ray cluster answers (no cluster started here)."""

from __future__ import annotations

import socket
import time

import pytest

from kgbuild import ClusterError, Document, KnowledgeGraphDir, RayEngine, build_knowledge_graph


def test_an_unreachable_address_is_named_at_once(tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a free port: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach a Ray cluster at '127.0.0.1:{port}'"):
        kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
        engine = RayEngine(tiny_model, f"127.0.0.1:{port}")
        build_knowledge_graph([Document("a", "Rome is in Lazio.")], kg, None, None, "tiny", "1", engine=engine)
    assert time.monotonic() - started < 30
    assert not list((tmp_path / "kg" / "documents").glob("*.nq"))


def test_the_cli_names_a_bad_engine_and_an_unreachable_address(tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from kgbuild.cli import app

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "Rome is in Lazio."}\n')
    args = ["extract", str(corpus), "--out", str(tmp_path / "kg"), "--model", tiny_model]
    result = CliRunner().invoke(app, [*args, "--engine", "spark"])
    assert result.exit_code == 2 and "--engine must be local or ray, got 'spark'" in result.output
    result = CliRunner().invoke(app, [*args, "--address", "10.0.0.1:6379"])
    assert result.exit_code == 2 and "--address 10.0.0.1:6379 needs --engine ray" in result.output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(app, [*args, "--engine", "ray", "--address", f"127.0.0.1:{port}"])
    assert result.exit_code == 2, result.output
    assert f"error: cannot reach a Ray cluster at '127.0.0.1:{port}'" in result.output
    assert not list((tmp_path / "kg" / "documents").glob("*.nq"))
