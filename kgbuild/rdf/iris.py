"""Mint every IRI `kgbuild` writes, deterministically, and read them back: the same input gives the same IRI.

IRIs are built from SHA-256 digests of normalised text and a readable ASCII slug, so they are
valid for any input text (no spaces, no unescaped characters) and never blank nodes. Each is
``{base}{kind}/{local}``; `parse_iri` splits one back into those parts.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, unquote

DEFAULT_BASE = "https://w3id.org/kgbuild/resource/"
_SLUG_LENGTH = 48
KINDS = ("doc", "entity", "statement", "model", "run", "graph")
_MINTED = re.compile(r"(?P<base>.*[/#])(?P<kind>" + "|".join(KINDS) + r")/(?P<local>[^/#]*)")


def normalize_label(text: str) -> str:
    """Normalise a surface form for comparison: NFKC, case-folded, single spaces, no edge punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return text.strip(" .,;:!?\"'`()[]{}")


def _digest(*parts: str, length: int = 16) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:_SLUG_LENGTH].strip("_") or "x"


class IriMinter:
    """Mint document, entity, statement, model and run IRIs under one base."""

    def __init__(self, base: str = DEFAULT_BASE):
        if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+[/#]", base):
            raise ValueError(f"base IRI must be an http(s) IRI ending in '/' or '#', got {base!r}")
        self.base = base

    def document(self, document_id: str) -> str:
        """IRI of a document (and of its named graph)."""
        return f"{self.base}doc/{quote(document_id, safe='')}"

    def entity(self, label: str, entity_type: str) -> str:
        """IRI of the entity with this normalised label and type."""
        normalized = normalize_label(label)
        return f"{self.base}entity/{_slug(normalized)}-{_digest(normalized, entity_type, length=12)}"

    def statement(self, graph: str, subject: str, predicate: str, obj: str, offsets: tuple[int, ...]) -> str:
        """IRI of the reified statement of one extracted triple at one place in one document."""
        return f"{self.base}statement/{_digest(graph, subject, predicate, obj, *map(str, offsets), length=24)}"

    def model(self, name: str, version: str) -> str:
        """IRI of an extractor model version."""
        return f"{self.base}model/{_slug(name)}-{_digest(name, version, length=12)}"

    def run(self, started: str, corpus: str) -> str:
        """IRI of an extraction run."""
        return f"{self.base}run/{_digest(started, corpus, length=20)}"

    def resolution_graph(self) -> str:
        """IRI of the named graph that records the store's merges (``merged owl:sameAs canonical``)."""
        return f"{self.base}graph/resolution"


@dataclass(frozen=True, slots=True)
class MintedIri:
    """An IRI minted by `IriMinter`, split: ``{base}{kind}/{local}``; `kind` is one of `KINDS`."""

    base: str
    kind: str
    local: str


def parse_iri(iri: str) -> MintedIri:
    """Split an IRI minted by `IriMinter` into its base, kind (``doc``, ``entity``...) and local part.

    Raises:
        ValueError: `iri` is not of the form ``{base}{kind}/{local}``.

    """
    found = _MINTED.fullmatch(iri)
    if found is None:
        raise ValueError(f"not an IRI minted by kgbuild: {iri!r}")
    return MintedIri(found["base"], found["kind"], found["local"])


def is_entity(iri: str) -> bool:
    """Whether `iri` is an entity IRI minted by `IriMinter.entity`."""
    found = _MINTED.fullmatch(iri)
    return found is not None and found["kind"] == "entity"


def document_id(iri: str) -> str:
    """Return the corpus id of a document IRI minted by `IriMinter.document`.

    Raises:
        ValueError: `iri` is not a document IRI.

    """
    parsed = parse_iri(iri)
    if parsed.kind != "doc":
        raise ValueError(f"not a document IRI: {iri!r}")
    return unquote(parsed.local)


def local_name(iri: str) -> str:
    """Return the last segment of any IRI: ``.../prop/direct/P25`` -> ``P25``, ``...conll04#kill`` -> ``kill``."""
    return iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
