"""Run the ``kgbuild`` command line: ``python -m kgbuild``."""

from kgbuild.cli import app

if __name__ == "__main__":
    app(prog_name="kgbuild")
