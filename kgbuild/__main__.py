"""Run the ``kgbuild`` command line: ``python -m kgbuild``."""

from kgbuild.cli import app

app(prog_name="kgbuild")
