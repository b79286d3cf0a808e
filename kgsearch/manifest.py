"""What a search index says about itself (``KG_DIR/search/manifest.json``), as one typed record.

The JSON keeps its keys in the order of the fields below, so a manifest read and written again is
the same file, and indexes written before this record existed load unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kgsearch.errors import SearchIndexError
from kgsearch.settings import SearchSettings


@dataclass(frozen=True, slots=True)
class IndexManifest:
    """How an index was built: from which graph (its stamp) and corpus, with which encoder, and what it holds.

    Attributes:
        format: the index format (`kgsearch.index.FORMAT_VERSION` when it was written).
        kg_stamp: `kgbuild.KnowledgeGraphDir.stamp` of the graph it was built from: a changed graph is stale.
        encoder: how to load the encoder again (a path or the base model's name); `encoder_name` is its own name.
        ann: ``exact`` or ``hnsw``: how the passage vectors are searched.
        precision: ``fp32`` or ``bf16``: the arithmetic its passage and name vectors were encoded in
            (``fp32`` for indexes written before it was recorded).
        edges: the number of edges of each kind (``title``, ``mention``...).
        build_seconds: the whole build; `timings` its slow steps, in seconds.

    """

    format: int
    kg_stamp: str
    corpus: str
    encoder: str
    encoder_name: str
    passages: int
    entities: int
    ann: str
    precision: str
    edges: Mapping[str, int]
    unreadable_passages: tuple[str, ...]
    settings: SearchSettings
    build_seconds: float
    timings: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as the JSON object ``manifest.json`` holds."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(
            edges=dict(self.edges),
            unreadable_passages=list(self.unreadable_passages),
            settings=self.settings.to_json(),
            timings=dict(self.timings),
        )
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any], source: str | Path = "manifest.json") -> IndexManifest:
        """Read the manifest's JSON object; `source` names it in errors.

        Raises:
            SearchIndexError: a key the index cannot load without (format, stamp, encoder, settings) is
                missing, or a value has the wrong type.

        """
        missing = [key for key in ("format", "kg_stamp", "encoder", "settings") if key not in values]
        if missing:
            raise SearchIndexError(f"{source}: no {', '.join(missing)} in the index manifest")
        try:
            return cls(
                int(values["format"]),
                str(values["kg_stamp"]),
                str(values.get("corpus", "")),
                str(values["encoder"]),
                str(values.get("encoder_name", "")),
                int(values.get("passages", 0)),
                int(values.get("entities", 0)),
                str(values.get("ann", "exact")),
                str(values.get("precision", "fp32")),
                {str(kind): int(count) for kind, count in dict(values.get("edges", {})).items()},
                tuple(str(problem) for problem in values.get("unreadable_passages", ())),
                SearchSettings.from_json(dict(values["settings"])),
                float(values.get("build_seconds", 0.0)),
                {str(step): float(seconds) for step, seconds in dict(values.get("timings", {})).items()},
            )
        except (TypeError, ValueError) as error:
            raise SearchIndexError(f"{source}: unreadable index manifest: {error}") from None

    def write(self, path: Path) -> None:
        """Write the manifest to `path` as indented JSON."""
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
