"""The wheel carries what `kgbuild` reads at run time: installed non-editable, domain/range checks still hold."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Run in the throwaway environment: a Live_In between two places breaks the property's domain (a person).
REJECTS = """
import kgbuild
from kgbuild.rdf.graph import ModelInfo, document_nquads
from kgbuild.rdf.iris import IriMinter
from kgbuild.records import Document, ParsedDocument, PredictedRelation, Span, TokenizedText
from kgbuild.resolution import ResolvedDocument, ResolvedEntity

text = "Rome is in Lazio ."
tokens = tuple(text.split())
parsed = ParsedDocument(Document("d", text), TokenizedText(tokens), (0, 5, 8, 11, 17), (4, 7, 10, 16, 18))
places = tuple(ResolvedEntity(name, name, "Loc", (Span(i, i + 1),), (), 0.9) for i, name in ((0, "Rome"), (3, "Lazio")))
relations = (PredictedRelation(0, 1, "Live_In", 0.9), PredictedRelation(0, 1, "Located_In", 0.9))
_, stats = document_nquads(ResolvedDocument(parsed, places, relations), IriMinter(), ModelInfo("m", "1"), 0.5)
print(kgbuild.__file__, stats.triples, stats.rejected)
"""


def _run(command, cwd, **kwargs):
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_a_wheel_installed_in_a_fresh_environment_ships_the_ontologies(tiny_model, tmp_path):
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ and egg-info in it
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("kgbuild", "kgsearch"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path), str(source)], tmp_path)
    [wheel] = tmp_path.glob("kgbuild-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib], tmp_path).strip())
    # The test environment's packages (torch, spaCy...) as a plain path entry: its .pth files, the editable
    # install's finder among them, are not run, so `import kgbuild` can only find the installed wheel.
    (site / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], tmp_path)

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Betsy Ross was born in Philadelphia. Rome is in Lazio.")
    kg = tmp_path / "kg"
    extract = [str(venv / "bin" / "kgbuild"), "extract", str(corpus), "--model", tiny_model, "--out", str(kg)]
    output = _run([*extract, "--min-confidence", "0", "--show", "0"], tmp_path)
    assert "1 documents extracted" in output and "triples rejected by domain/range" in output
    assert "Conforms: True" in _run([str(venv / "bin" / "kgbuild"), "validate", str(kg)], tmp_path)

    installed, triples, rejected = _run([str(python), "-c", REJECTS], tmp_path).split()
    assert Path(installed).is_relative_to(site), installed  # the wheel's kgbuild, not the checkout's
    assert (triples, rejected) == ("1", "1")


def test_missing_ontologies_are_an_error_not_silently_unchecked_triples(tmp_path, monkeypatch):
    from kgbuild.errors import PackageDataError
    from kgbuild.rdf import ontology, validate
    from kgbuild.rdf.store import KnowledgeGraphDir
    from kgbuild.rdf.vocabulary import relation_names

    monkeypatch.setattr("kgbuild.settings.ONTOLOGY_DIR", tmp_path / "nowhere")
    ontology.constraints.cache_clear()
    relation_names.cache_clear()
    try:
        with pytest.raises(PackageDataError, match=r"core\.ttl"):
            ontology.constraints()
        with pytest.raises(PackageDataError, match=r"wikidata-relations\.json"):
            relation_names()
        with pytest.raises(PackageDataError, match=r"shapes\.ttl"):
            validate.validate(KnowledgeGraphDir(tmp_path / "kg", create=True).dataset())
    finally:
        ontology.constraints.cache_clear()
        relation_names.cache_clear()
