import inspect
import subprocess
import sys

import kgbuild


def test_all_is_sorted_and_complete():
    public = {
        name for name in dir(kgbuild) if not name.startswith("_") and not inspect.ismodule(getattr(kgbuild, name))
    } - {"annotations", "TYPE_CHECKING", "Any"}
    assert kgbuild.__all__ == sorted(kgbuild.__all__)
    assert public <= set(kgbuild.__all__)
    for name in kgbuild.__all__:
        assert getattr(kgbuild, name) is not None


def test_import_and_help_do_not_load_torch():
    code = "import sys, kgbuild, kgbuild.cli; print('torch' in sys.modules, 'transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == [
        "False",
        "False",
    ]


def test_kgsearch_all_is_sorted_and_complete_and_import_stays_light():
    import kgsearch

    public = {
        name for name in dir(kgsearch) if not name.startswith("_") and not inspect.ismodule(getattr(kgsearch, name))
    } - {"annotations"}
    assert kgsearch.__all__ == sorted(kgsearch.__all__)
    assert public <= set(kgsearch.__all__)
    code = (
        "import sys, kgsearch, kgsearch.cli; print(any(m in sys.modules for m in ('torch', 'transformers', 'numpy')))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == (
        "False"
    )


def test_kgsearch_and_the_app_import_only_kgbuilds_public_api():
    """Names `kgbuild` exports, or a submodule whose docstring says it is public (`kgbuild.cli_options`...)."""
    import ast
    import importlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    private = []
    for path in [*sorted((root / "kgsearch").glob("*.py")), root / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "kgbuild":
                private += [f"{path.name}: kgbuild.{a.name}" for a in node.names if a.name not in kgbuild.__all__]
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module.startswith("kgbuild."):
                    doc = importlib.import_module(module).__doc__ or ""
                    if not doc.startswith("Public:"):
                        private.append(f"{path.name}: {module}")
    assert not private, private
