"""Run the ``kgsearch`` command line: ``python -m kgsearch``."""

from kgsearch.cli import app

app(prog_name="kgsearch")
