"""The ``kgsearch`` command line (search lands with the search issue)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Search a knowledge graph built by kgbuild.", no_args_is_help=True, add_completion=False)


@app.command("version")
def version_command() -> None:
    """Print the installed version."""
    from importlib.metadata import version

    typer.echo(version("kgbuild"))
