"""One home for code: no block of six or more lines is repeated in the project's packages.

Lines are compared stripped of indentation, without blank lines and comments. Lines that are
only a name or a literal (import lists, word and data tables) do not count, nor does a block
made only of them: two tables may share words, code may not share its steps.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("spine", "scenes", "voiceover", "pipeline")
BLOCK = 6
# a name, a number or a string, with a trailing comma or bracket at most: an entry of a list or table
ENTRY = re.compile(r"""^[\w.'" -]*[,)\]}]*\s*$|^\)?\s*$|^from [\w.]+ import \($|^[\w.]+ = [({\[]$""")


def code_lines(path: Path) -> list[tuple[int, str]]:
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#") and not ENTRY.match(line):
            lines.append((number, line))
    return lines


def repeated_blocks(files: list[Path], root: Path = ROOT) -> list[list[tuple[str, int]]]:
    """Every block of BLOCK code lines found in more than one place: [(file, first line), ...]."""
    places: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for path in files:
        lines = code_lines(path)
        for i in range(len(lines) - BLOCK + 1):
            block = tuple(text for _, text in lines[i : i + BLOCK])
            places[block].append((str(path.relative_to(root)), lines[i][0]))
    return [where for where in places.values() if len(where) > 1]


def test_no_block_of_six_code_lines_is_repeated():
    files = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    assert len(files) > 50
    assert repeated_blocks(files) == []


def test_a_repeated_block_is_found(tmp_path):
    """The check can fail: six steps written twice are found, five are not, nor a shared table."""
    steps = [f"    total = total + step({n}) * {n}" for n in range(BLOCK)]
    table = "\n".join(f'    "word{n}",' for n in range(10))
    for count, expected in ((BLOCK, [[("twice.py", 3), ("twice.py", 13)]]), (BLOCK - 1, [])):
        body = "\n".join(steps[:count] + ["    return total"] * (BLOCK - count))
        (tmp_path / "twice.py").write_text(
            f"def a(step):\n    total = 0\n{body}\n\n\ndef b(step):\n    total = 1\n{body}\n"
            f"\n\nA = (\n{table}\n)\nB = (\n{table}\n)\n"
        )
        assert repeated_blocks([tmp_path / "twice.py"], tmp_path) == expected, count
