"""Run the frozen lower encoder layers once and train the top layers from their cached states.

With ``train_layers`` N, the embeddings and the lower layers never change, so what they make of
a training window is the same every epoch, if nothing random touches them: the cache is built
once in eval mode (no dropout) under ``torch.inference_mode``, and every step runs only the top N
layers on it (`run_top_layers`), with the casing embedding added at the first trained layer's
input as before (`JointExtractor._add_shapes`). The uncached run keeps dropout active in the
frozen layers, so the two are the same run only for an encoder without dropout; with dropout,
the cached run is the same recipe minus the noise below the trained layers.

Windows are cut from each text deterministically (`kgbuild.extraction.features.window_starts`);
only the order of the texts changes between epochs, so one entry per text serves every epoch.
The cache lives in ``OUT.training/frozen.pt`` (memory-mapped), keyed by the run's fingerprint and
dtype, so a resumed run reuses it; it goes with the rest of ``OUT.training/`` once ``OUT`` is written.
The dev texts, read in eval mode each epoch, go through the lower layers once too (`remembered_states`).
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from kgbuild.errors import ModelLoadError
from kgbuild.extraction.checkpoint import replace_file
from kgbuild.extraction.features import EncodedText

if TYPE_CHECKING:
    from kgbuild.extraction.model import JointExtractor

log = logging.getLogger("kgbuild.train")

CACHE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def encoder_layers(encoder: Any) -> Any:
    """Return the encoder's stack of transformer layers (BERT and MPNet keep it at ``encoder.layer``)."""
    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(stack, nn.ModuleList):
        raise ModelLoadError(f"encoder {type(encoder).__name__} has no encoder.layer list to train the top layers of")
    return stack


@dataclass(frozen=True, slots=True)
class FrozenStates:
    """The states entering the first trained layer, for every window of every training text."""

    states: Tensor  # (pieces, hidden): each window's states, [CLS] and [SEP] included, one after another
    window_starts: tuple[int, ...]  # where each window's states begin in `states`
    window_lengths: tuple[int, ...]
    first_window: tuple[int, ...]  # per text, the index of its first window; one more entry at the end

    @property
    def nbytes(self) -> int:
        """Size of the cached states in bytes."""
        return self.states.numel() * self.states.element_size()

    def of(self, text: int) -> list[Tensor]:
        """Return the cached states of text number `text`'s windows, ``(window pieces, hidden)`` each."""
        windows = range(self.first_window[text], self.first_window[text + 1])
        return [self.states[self.window_starts[w] : self.window_starts[w] + self.window_lengths[w]] for w in windows]


def frozen_states(
    model: JointExtractor, texts: Sequence[EncodedText], path: Path, key: str, dtype: str, batch_size: int
) -> FrozenStates:
    """Return the lower layers' states of every window of `texts`: from `path` if it holds `key`'s, else built.

    Built in eval mode without gradients, `batch_size` texts at a time, written atomically to `path`
    and read back memory-mapped.
    """
    if dtype not in CACHE_DTYPES:
        raise ValueError(f"cache dtype must be one of {', '.join(CACHE_DTYPES)}, got {dtype!r}")
    saved = _load(path)
    if saved is not None and saved.get("key") == f"{key}|{dtype}":
        log.info("reusing the frozen layers' states in %s", path)
        return _from_saved(saved)
    started = time.monotonic()
    layers = encoder_layers(model.encoder)
    bottom = layers[: len(layers) - model.config.train_layers]
    chunks: list[Tensor] = []
    lengths: list[int] = []
    first_window = [0]
    training = model.training
    model.eval()
    try:
        with torch.inference_mode(), _only(model.encoder, bottom, None):
            for first in range(0, len(texts), batch_size):
                batch = texts[first : first + batch_size]
                for text in batch:
                    first_window.append(first_window[-1] + len(model.windows([text])[0]))
                windows = model.windows(batch)[0]
                if not windows:
                    continue
                width = max(len(window) for window in windows)
                device = model.shape_embedding.weight.device
                ids = torch.tensor([w + [model.pad_id] * (width - len(w)) for w in windows], device=device)
                attention = torch.tensor([[1] * len(w) + [0] * (width - len(w)) for w in windows], device=device)
                embeddings = model.encoder.get_input_embeddings()(ids)
                states = model.encoder(inputs_embeds=embeddings, attention_mask=attention).last_hidden_state
                for row, window in enumerate(windows):
                    chunks.append(states[row, : len(window)].to(CACHE_DTYPES[dtype]).cpu())
                    lengths.append(len(window))
    finally:
        model.train(training)
    flat = torch.cat(chunks) if chunks else torch.zeros(0, model.hidden, dtype=CACHE_DTYPES[dtype])
    record = {
        "key": f"{key}|{dtype}",
        "states": flat,
        "window_lengths": torch.tensor(lengths, dtype=torch.long),
        "first_window": torch.tensor(first_window, dtype=torch.long),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, lambda sink: torch.save(record, sink))
    cached = _from_saved(_load(path) or {})
    log.info(
        "cached the frozen layers' states of %d windows (%s, %.1f MB) in %.1f s",
        len(lengths),
        dtype,
        cached.nbytes / 1e6,
        time.monotonic() - started,
    )
    return cached


def remembered_states(model: JointExtractor, windows: Sequence[Sequence[int]]) -> list[Tensor]:
    """Return the lower layers' states of `windows` (piece ids) from ``model.frozen_memo``, adding the missing.

    For evaluation (eval mode): the missing windows are read as one batch, as the uncached pass would.
    """
    memo = model.frozen_memo if model.frozen_memo is not None else {}
    keys = [tuple(window) for window in windows]
    missing = list(dict.fromkeys(key for key in keys if key not in memo))
    if missing:
        layers = encoder_layers(model.encoder)
        width = max(len(key) for key in missing)
        device = model.shape_embedding.weight.device
        ids = torch.tensor([[*key] + [model.pad_id] * (width - len(key)) for key in missing], device=device)
        attention = torch.tensor([[1] * len(key) + [0] * (width - len(key)) for key in missing], device=device)
        with torch.no_grad(), _only(model.encoder, layers[: len(layers) - model.config.train_layers], None):
            embeddings = model.encoder.get_input_embeddings()(ids)
            states = model.encoder(inputs_embeds=embeddings, attention_mask=attention).last_hidden_state
        for row, key in enumerate(missing):
            memo[key] = states[row, : len(key)].clone()
    return [memo[key] for key in keys]


def run_top_layers(model: JointExtractor, windows: Sequence[Tensor], attention: Tensor, shapes: Tensor) -> Tensor:
    """Run only the trained top layers on cached window states; returns ``(windows, width, hidden)``.

    `shapes` (the casing embedding of each piece) is added at the first trained layer's input, as
    `JointExtractor._add_shapes` does in the uncached run.

    The model's own forward runs with its embeddings replaced by a pass-through and its layer stack
    cut to the top layers, so masks and position biases (MPNet's relative ones included, computed
    from the sequence length) are made exactly as in the uncached run.
    """
    if len(windows) != attention.shape[0]:
        raise ValueError(f"cached states of {len(windows)} windows for texts of {attention.shape[0]} windows")
    width = attention.shape[1]
    hidden = torch.zeros(len(windows), width, model.hidden, device=attention.device)
    for row, states in enumerate(windows):
        if states.shape[0] != int(attention[row].sum()):
            raise ValueError(f"cached window of {states.shape[0]} pieces for a window of {int(attention[row].sum())}")
        hidden[row, : states.shape[0]] = states
    layers = encoder_layers(model.encoder)
    top = layers[len(layers) - model.config.train_layers :]
    model._shape_states = shapes  # added by the first trained layer's pre-hook, `JointExtractor._add_shapes`
    with _only(model.encoder, top, _PassThrough()):
        result: Tensor = model.encoder(inputs_embeds=hidden, attention_mask=attention).last_hidden_state
    return result


class _PassThrough(nn.Module):
    """Stands in for the embeddings: the cached states are already past them."""

    def forward(self, inputs_embeds: Tensor, **_: Any) -> Tensor:
        return inputs_embeds


@contextmanager
def _only(encoder: Any, layers: nn.ModuleList, embeddings: nn.Module | None) -> Iterator[None]:
    """Give `encoder` only `layers` (and `embeddings`, if given) for the duration."""
    stack = encoder.encoder
    saved_layers, saved_embeddings = stack.layer, encoder.embeddings
    stack.layer = layers
    if embeddings is not None:
        encoder.embeddings = embeddings
    try:
        yield
    finally:
        stack.layer = saved_layers
        encoder.embeddings = saved_embeddings


def _load(path: Path) -> dict[str, Any] | None:
    """Read a saved cache memory-mapped; None when missing or unreadable (it is then rebuilt)."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError):
        log.warning("%s: unreadable, building the frozen layers' states again", path)
        return None
    return saved if isinstance(saved, dict) else None


def _from_saved(saved: dict[str, Any]) -> FrozenStates:
    lengths = saved["window_lengths"]
    starts = torch.cumsum(lengths, 0) - lengths
    return FrozenStates(
        saved["states"], tuple(starts.tolist()), tuple(lengths.tolist()), tuple(saved["first_window"].tolist())
    )
