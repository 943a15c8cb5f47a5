"""Every third-party package our code imports is declared in pyproject.toml (tests' imports under dev)."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib

from tests.conftest import ROOT

OURS = {"spine", "scenes", "voiceover", "pipeline", "render", "tests", "bench"}


def _imported_top_modules(folders: tuple[str, ...]) -> dict[str, str]:
    """top-level module -> first file importing it, over every .py file in ``folders``."""
    found: dict[str, str] = {}
    for folder in folders:
        paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _declared(group: str | None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs}


@functools.lru_cache(maxsize=1)
def _owners() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _undeclared(folders: tuple[str, ...], declared: set[str]) -> list[str]:
    owners = _owners()
    missing = []
    for module, where in sorted(_imported_top_modules(folders).items()):
        if module in OURS or module in sys.stdlib_module_names or module == "__future__":
            continue
        dists = {d.lower().replace("_", "-") for d in owners.get(module, [])}
        if not dists:
            missing.append(f"{module} (imported by {where}) belongs to no installed distribution")
        elif not dists & declared:
            missing.append(f"{module} (imported by {where}) comes from {sorted(dists)}, not declared")
    return missing


def test_every_import_of_the_code_is_a_declared_dependency():
    assert not _undeclared(("spine", "scenes", "voiceover", "pipeline", "render.py"), _declared(None))
    # the check itself finds an undeclared import
    assert any(line.startswith("numpy ") for line in _undeclared(("spine",), set()))


def test_every_import_of_the_tests_is_declared_for_them():
    assert not _undeclared(("tests",), _declared(None) | _declared("dev"))
