"""The knowledge-graph directory: one N-Quads file per document, and an Oxigraph store built from them.

Layout of ``KG_DIR``::

    documents/<digest>.nq   one document's named graph; first line "# kgbuild {id, sha256}"
    runs/<digest>.nq        the PROV-O record of each extraction run
    store/                  Oxigraph on-disk store (rdflib API through oxrdflib), rebuilt from the files
    store.stamp             which files (and resolution settings) the store was built from
    resolution.json         optional: corpus-level resolution settings (alias threshold, name encoder)

A document file is written atomically (temporary file, then rename), so a run killed at any point
leaves every document either finished or absent; the next run skips finished documents whose
content hash is unchanged. The store is derived data: it is rebuilt whenever the files change.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from kgbuild.errors import DataFormatError, InputTextError
from kgbuild.records import Document

HEADER = "# kgbuild "
RESOLUTION_FILE = "resolution.json"


def content_hash(document: Document, model: str) -> str:
    """Digest of everything that decides a document's graph: its fields and the model."""
    payload = json.dumps([document.id, document.title, document.text, document.metadata, model], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def write_atomically(path: Path, content: str) -> None:
    """Write `content` to `path`: readers see the old file or the new one, never a part.

    The file gets the mode any new file gets under the umask (0644 under the usual 022), not the 0600
    that `tempfile` gives its files.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{secrets.token_hex(8)}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class KnowledgeGraphDir:
    """Read and write a knowledge-graph directory."""

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputTextError(f"{self.path}: a file, not a knowledge-graph directory")
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not (self.path / "documents").is_dir():
            raise InputTextError(f"{self.path}: not a knowledge-graph directory (no documents/ folder)")
        self.documents = self.path / "documents"
        self.runs = self.path / "runs"
        if create and not (self.path / RESOLUTION_FILE).is_file():
            self.configure_resolution()  # fixed at creation: a later process's environment does not change it
        if create:
            partials = [
                *self.path.glob(".*.partial"),
                *self.documents.glob(".*.partial"),
                *self.runs.glob(".*.partial"),
            ]
            for leftover in partials:
                leftover.unlink()  # a write cut short by a kill; its document is simply not finished

    def document_file(self, document_id: str) -> Path:
        """Where a document's named graph is kept."""
        return self.documents / f"{hashlib.sha256(document_id.encode('utf-8')).hexdigest()[:32]}.nq"

    def finished(self) -> dict[str, str]:
        """Map each finished document id to the content hash it was built from."""
        found = {}
        for file in sorted(self.documents.glob("*.nq")) if self.documents.is_dir() else []:
            with file.open(encoding="utf-8") as handle:
                first = handle.readline()
            if first.startswith(HEADER):
                header = json.loads(first[len(HEADER) :])
                found[header["id"]] = header["sha256"]
        return found

    def write_document(self, document_id: str, digest: str, nquads: str) -> None:
        """Store one document's named graph (N-Quads text), replacing any earlier version."""
        header = HEADER + json.dumps({"id": document_id, "sha256": digest}, ensure_ascii=False) + "\n"
        write_atomically(self.document_file(document_id), header + nquads)

    def remove_document(self, document_id: str) -> bool:
        """Delete a document's graph; return whether it was there."""
        file = self.document_file(document_id)
        if not file.exists():
            return False
        file.unlink()
        return True

    def write_run(self, run_id: str, nquads: str) -> None:
        """Store the provenance record of one run."""
        write_atomically(self.runs / f"{run_id}.nq", nquads)

    def files(self) -> list[Path]:
        """Every N-Quads file of the graph, in a stable order."""
        return sorted(self.documents.glob("*.nq")) + sorted(self.runs.glob("*.nq"))

    def resolution_settings(self) -> dict[str, Any]:
        """Return how the store merges nodes across documents: ``alias_threshold`` and ``name_encoder``.

        Raises:
            DataFormatError: ``resolution.json`` is not a JSON object of those settings (names the file).

        """
        from kgbuild.corpus_resolution import ALIAS_THRESHOLD
        from kgbuild.settings import base_model_name

        file = self.path / RESOLUTION_FILE
        if not file.is_file():
            return {"alias_threshold": ALIAS_THRESHOLD, "name_encoder": _encoder_name(base_model_name())}
        try:
            stored = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise DataFormatError(f"{file}: not JSON ({error})") from None
        if not isinstance(stored, dict) or set(stored) != {"alias_threshold", "name_encoder"}:
            raise DataFormatError(f"{file}: need exactly the keys alias_threshold and name_encoder, got {stored!r}")
        _check_resolution(stored["alias_threshold"], stored["name_encoder"], str(file))
        return {"alias_threshold": float(stored["alias_threshold"]), "name_encoder": stored["name_encoder"]}

    def configure_resolution(self, alias_threshold: float | None = None, name_encoder: str | None = None) -> None:
        """Set the corpus-level resolution settings (None keeps the current one); the store rebuilds to match.

        Raises:
            ValueError: a threshold that is negative or not a number (above 1 turns alias merging off),
                or an empty encoder name.

        """
        given = alias_threshold is not None and name_encoder is not None
        settings = {} if given else self.resolution_settings()  # both given: a broken file is simply replaced
        if alias_threshold is not None:
            settings["alias_threshold"] = alias_threshold
        if name_encoder is not None:
            settings["name_encoder"] = _encoder_name(name_encoder)
        _check_resolution(settings["alias_threshold"], settings["name_encoder"], "resolution settings")
        write_atomically(self.path / RESOLUTION_FILE, json.dumps(settings, indent=2) + "\n")

    def _stamp(self) -> str:
        from kgbuild.rdf.sameas import CORPUS_RESOLUTION_VERSION
        from kgbuild.resolution import RESOLUTION_VERSION

        listing = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in self.files()]
        settings = self.resolution_settings()
        if settings["alias_threshold"] > 1:  # no alias merges: which encoder would have run does not matter
            del settings["name_encoder"]
        versions = [RESOLUTION_VERSION, CORPUS_RESOLUTION_VERSION, settings]
        return hashlib.sha256(json.dumps([versions, listing], sort_keys=True).encode()).hexdigest()

    def store(self) -> Any:
        """Open the on-disk Oxigraph store read-only (a `pyoxigraph.Store`), rebuilding it if stale.

        Read-only handles take no lock, so queries, exports, an endpoint and a search index can share it.
        """
        import pyoxigraph

        from kgbuild.rdf.sameas import resolve_store

        store_dir, stamp_file = self.path / "store", self.path / "store.stamp"
        stamp = self._stamp()
        if not store_dir.is_dir() or not stamp_file.is_file() or stamp_file.read_text() != stamp:
            shutil.rmtree(store_dir, ignore_errors=True)
            store = pyoxigraph.Store(str(store_dir))
            # One bulk load over all files: a load per file costs an index ingestion each (6,000 files: minutes).
            with io.BufferedReader(_Concatenation(self.files()), buffer_size=1 << 20) as stream:
                store.bulk_load(input=stream, format=pyoxigraph.RdfFormat.N_QUADS)
            resolve_store(store, **self.resolution_settings())
            store.flush()
            del store
            write_atomically(stamp_file, stamp)
        return pyoxigraph.Store.read_only(str(store_dir))

    def stamp(self) -> str:
        """Digest of the graph's files: it changes whenever a document is added, changed or removed."""
        return self._stamp()

    def dataset(self) -> Any:
        """Open the graph read-only as an rdflib `Dataset` over the on-disk Oxigraph store, rebuilt if stale."""
        from oxrdflib.store import OxigraphStore
        from rdflib import Dataset

        return Dataset(store=OxigraphStore(store=self.store()))


def _encoder_name(name: str) -> str:
    """Return an encoder name as kept in ``resolution.json``: the default when empty, a directory made absolute."""
    from kgbuild.settings import DEFAULT_BASE_MODEL

    if not name:
        return DEFAULT_BASE_MODEL
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name


def _check_resolution(threshold: Any, encoder: Any, where: str) -> None:
    """Raise ValueError (DataFormatError from a file) unless the threshold is a number >= 0 and the encoder a name."""
    import math

    error = DataFormatError if where.endswith(RESOLUTION_FILE) else ValueError
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise error(f"{where}: alias_threshold must be a number >= 0 (above 1: no alias merges), got {threshold!r}")
    if threshold < 0:
        raise error(f"{where}: alias_threshold must be >= 0 (above 1: no alias merges), got {threshold}")
    if not isinstance(encoder, str) or not encoder:
        raise error(f"{where}: name_encoder must be a model name or directory, got {encoder!r}")


class _Concatenation(io.RawIOBase):
    """The bytes of several files read as one stream, a newline after each."""

    def __init__(self, files: list[Path]):
        self._files = iter(files)
        self._current: io.BufferedReader | None = None
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._pending:
                size = min(len(buffer), len(self._pending))
                buffer[:size], self._pending = self._pending[:size], self._pending[size:]
                return size
            if self._current is None:
                file = next(self._files, None)
                if file is None:
                    return 0
                self._current = file.open("rb")
            size = self._current.readinto(buffer)
            if size:
                return size
            self._current.close()
            self._current, self._pending = None, b"\n"

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        super().close()


EXPORT_FORMATS = {"trig": "trig", "nquads": "nquads", "jsonld": "json-ld", "turtle": "turtle", "ntriples": "nt"}
SINGLE_GRAPH = ("turtle", "ntriples")


def export_text(dataset: Any, format: str) -> tuple[str, str]:
    """Serialise the graph; return the text and a note for the user (empty if none).

    Turtle and N-Triples cannot hold named graphs (rdflib silently drops them), so for those the
    union of all named graphs is written, and the note says so.
    """
    if format not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    from rdflib import Dataset, Graph

    local = Dataset()
    for quad in dataset.quads((None, None, None, None)):
        local.add(quad)
    if format in SINGLE_GRAPH:
        union = Graph()
        for s, p, o, _ in local.quads((None, None, None, None)):
            union.add((s, p, o))
        graphs = len({g for *_, g in local.quads((None, None, None, None))})
        note = f"{format} holds one graph: wrote the union of {graphs} named graphs (use trig or nquads to keep them)"
        return union.serialize(format=EXPORT_FORMATS[format]), note
    return local.serialize(format=EXPORT_FORMATS[format]), ""
