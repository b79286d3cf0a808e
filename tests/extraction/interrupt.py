"""A training run killed after an epoch, as the resume tests stage it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class KilledError(Exception):
    """Stands for the process being killed after an epoch."""


def kill_after(epoch: int) -> Callable[[dict[str, Any]], None]:
    """An `on_epoch` callback that raises `KilledError` once `epoch` has been written."""

    def on_epoch(record: dict[str, Any]) -> None:
        if record["epoch"] == epoch:
            raise KilledError

    return on_epoch
