"""Per-epoch training state, written atomically, so that a killed run resumes where it stopped.

A run training ``OUT`` keeps ``OUT.training/``: ``state.pt`` (weights, optimizer, schedule, the
three random generators, the weight average, history and best epoch, after each epoch) and
``run.json`` (the command's arguments, so ``kgbuild train --resume OUT`` needs nothing else). Both
are replaced whole or not at all, and removed once ``OUT`` is written, with what a run caches there for
its resumption (``teacher.pt``: a teacher's soft targets; ``frozen.pt``: the frozen layers' states).
A resumed run gives the same model as an uninterrupted one of the same seed and thread count.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from kgbuild.errors import CheckpointError
from kgbuild.records import Example

STATE_FORMAT = 1
# Settings added after the state format was fixed.
LATER = frozenset({"cache_frozen", "class_balance", "evidence_weight"})
LATER_CONFIG = frozenset({"relation_converses", "pronoun_mentions"})  # config fields added after it


def state_dir(out_dir: str | Path) -> Path:
    """Return the folder holding a run's resumable state: ``OUT.training`` beside ``OUT``."""
    out = Path(out_dir)
    return out.with_name(f"{out.name}.training")


def fingerprint(config_json: str, settings: dict[str, Any], examples: Sequence[Example], extra: str) -> str:
    """Digest what must be equal for a run to resume another: config, settings, data and options."""
    digest = hashlib.sha256()
    # threads: speed only; a setting or config field added since, at its default ("", 0 or empty), is
    # left out, so that the runs of earlier versions still resume.
    kept = _without_later_defaults({key: value for key, value in settings.items() if key != "threads"}, LATER)
    config = _without_later_defaults(json.loads(config_json), LATER_CONFIG)
    digest.update(json.dumps([config, kept, extra], sort_keys=True).encode())
    for example in examples:
        digest.update(repr(example).encode())
    return digest.hexdigest()


def refuse_interrupted(out_dir: str | Path) -> None:
    """Raise `CheckpointError` if an interrupted run of `out_dir` is there: it is never overwritten silently."""
    if (state_dir(out_dir) / "state.pt").exists():
        raise CheckpointError(
            f"{state_dir(out_dir)}: an interrupted run of {out_dir} is there; continue it with "
            f"kgbuild train --resume {out_dir}, or delete the folder to start over"
        )


def _without_later_defaults(values: dict[str, Any], later: frozenset[str]) -> dict[str, Any]:
    """Drop the keys of `later` whose value is at its default ("", 0 or empty)."""
    return {key: value for key, value in values.items() if not (key in later and not value)}


def write_run_arguments(out_dir: str | Path, arguments: dict[str, Any]) -> None:
    """Record the command's arguments in ``OUT.training/run.json`` (atomically)."""
    folder = state_dir(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    content = json.dumps(arguments, indent=2).encode()
    replace_file(folder / "run.json", lambda sink: sink.write(content))


def read_run_arguments(out_dir: str | Path) -> dict[str, Any]:
    """Return the arguments of the interrupted run that trains `out_dir`.

    Raises:
        CheckpointError: there is no interrupted run, or its record is unreadable.

    """
    path = state_dir(out_dir) / "run.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: no interrupted run of {out_dir} to resume; train it without --resume")
    try:
        arguments = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable ({error}); delete {path.parent} to start over") from None
    if not isinstance(arguments, dict):
        raise CheckpointError(f"{path}: not a run record; delete {path.parent} to start over")
    return arguments


def save_state(out_dir: str | Path, state: dict[str, Any]) -> None:
    """Write ``OUT.training/state.pt`` atomically: the previous epoch's state survives a kill mid-write."""
    import torch

    folder = state_dir(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    replace_file(folder / "state.pt", lambda sink: torch.save({"format": STATE_FORMAT, **state}, sink))


def load_state(out_dir: str | Path, expected_fingerprint: str) -> dict[str, Any]:
    """Read the last epoch's state of an interrupted run, checked against this run's fingerprint.

    Raises:
        CheckpointError: no state, a corrupt file, or the state of another configuration or data.

    """
    import torch

    path = state_dir(out_dir) / "state.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: no epoch finished before the run stopped; train it without --resume")
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: corrupt checkpoint ({first}); delete {path.parent} to start over") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not a training state this kgbuild writes; delete {path.parent} to start over")
    if state.get("fingerprint") != expected_fingerprint:
        raise CheckpointError(
            f"{path}: the interrupted run had another configuration or data; resume it with its own "
            f"arguments (kgbuild train --resume {out_dir}), or delete {path.parent} to start over"
        )
    return state


def replace_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write `path` through `write` into a temporary file beside it, then rename it into place."""
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as sink:
            write(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
