"""Habits of DESIGN.md that a test can hold the code to."""

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "semiseg"


def test_methods_do_not_do_the_engines_work() -> None:
    banned = re.compile(r"DataLoader\(|torch\.save|\.cuda\(|optimizer\.step|argparse")
    for path in (SRC / "methods").glob("*.py"):
        assert not banned.search(path.read_text()), f"{path.name} does engine work"


def test_every_method_docstring_cites_paper_and_deviations() -> None:
    for path in (SRC / "methods").glob("*.py"):
        if path.name in ("__init__.py", "base.py"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "Deviation" in doc, f"{path.name}: docstring lacks 'Deviations'"


def test_nothing_parses_arguments_at_import() -> None:
    for path in SRC.rglob("*.py"):
        if path.name == "cli.py" or path.name.startswith("cli_"):  # the command-line layer
            continue
        assert "argparse" not in path.read_text(), path


def test_public_api_names_resolve_lazily() -> None:
    import subprocess
    import sys

    import semiseg

    for name in semiseg.__all__:
        assert getattr(semiseg, name) is not None, name
    # `import semiseg` itself imports neither torch nor the API modules
    code = "import sys, semiseg; print('torch' in sys.modules, 'semiseg.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
