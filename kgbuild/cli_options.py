"""Public: what the two command lines share, `kgbuild`'s and `kgsearch`'s (Typer option types, the error exit).

`kgsearch.cli` imports this module by name; it is part of `kgbuild`'s public API, as what
``kgbuild/__init__.py`` exports is (it stays out of ``import kgbuild``, which loads no Typer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

KgDir = Annotated[Path, typer.Argument(help="Knowledge-graph directory (built by kgbuild extract).")]
# Field names of JSONL/CSV corpus rows.
IdField = Annotated[str, typer.Option(help="Field of a JSONL/CSV row holding the document id.")]
TextField = Annotated[str, typer.Option(help="Field holding the text.")]
TitleField = Annotated[str, typer.Option(help="Field holding the title (optional in each row).")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise (2: bad usage or bad input)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
