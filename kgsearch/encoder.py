"""Dense-retrieval encoders: load and save a fine-tuned BERT bi-encoder (classes from `kgbuild.embedding`).

A fine-tuned encoder directory holds ``kgsearch-encoder.json`` (base encoder, pooling, lengths,
training record) and ``weights.safetensors``: the trained weights in fp16 over the base encoder,
without the word embeddings, which training leaves frozen. ``load_encoder`` also takes the
packaged base encoder's name or any local BERT directory (then used as it is).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kgbuild import BertEncoder, Encoder, HashingEncoder, ModelLoadError, bert_encoder, hashing_encoder
from kgbuild.settings import DEFAULT_BASE_MODEL, resolve_base_model
from kgsearch.errors import SearchIndexError

ENCODER_CONFIG = "kgsearch-encoder.json"
WEIGHTS = "weights.safetensors"
FROZEN_PREFIX = "embeddings.word_embeddings."
__all__ = ["BertEncoder", "Encoder", "HashingEncoder", "load_encoder", "save_encoder"]


def load_encoder(name: str | Path = DEFAULT_BASE_MODEL) -> Any:
    """Load a fine-tuned encoder directory, the packaged base encoder, or any local BERT directory.

    ``hashing`` or ``hashing-DIM`` gives the deterministic `HashingEncoder` (tests, demos without a model).

    Raises:
        SearchIndexError: the directory is neither (names the path).

    """
    double = hashing_encoder(str(name))
    if double is not None:
        return double
    path = Path(name).expanduser()
    settings: dict[str, Any] = {}
    if (path / ENCODER_CONFIG).is_file():
        settings = json.loads((path / ENCODER_CONFIG).read_text(encoding="utf-8"))
        base = settings["base_model"]
    else:
        base = str(name)
    try:
        base_dir = resolve_base_model(base)
    except ModelLoadError as error:
        raise SearchIndexError(f"encoder {str(name)!r}: {error}") from None
    label = settings.get("name") or (path.name if settings else Path(str(base_dir)).name)
    encoder = bert_encoder(
        base_dir, str(label), int(settings.get("max_length", 256)), int(settings.get("query_max_length", 64))
    )
    if settings:
        from safetensors.torch import load_file

        state = {key: value.float() for key, value in load_file(str(path / WEIGHTS)).items()}
        missing, unexpected = encoder.model.load_state_dict(state, strict=False)
        if unexpected or any(not key.startswith(FROZEN_PREFIX) for key in missing):
            raise SearchIndexError(f"encoder {path}: weights do not fit base model {base!r}")
    return encoder


def save_encoder(encoder: BertEncoder, out: Path, base_model: str, record: dict[str, Any]) -> None:
    """Write a fine-tuned encoder directory atomically: fp16 weights over the base, without word embeddings."""
    import os
    import shutil
    import tempfile

    from safetensors.torch import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    state = {
        key: value.detach().half().contiguous()
        for key, value in encoder.model.state_dict().items()
        if not key.startswith(FROZEN_PREFIX)
    }
    save_file(state, str(staging / WEIGHTS))
    settings = {
        "name": encoder.name,
        "base_model": base_model,
        "pooling": "mean",
        "max_length": encoder.max_length,
        "query_max_length": encoder.query_max_length,
        **record,
    }
    (staging / ENCODER_CONFIG).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
