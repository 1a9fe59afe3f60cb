"""The suite itself (issue 13, item 6): it collects in a copy of the project with no
`../shared` beside it (what needs the acceptance cases is skipped with that reason), and
no test asserts on wall time (a slow machine is not a failure)."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

_CLOCKS = {"monotonic", "perf_counter", "time", "process_time", "monotonic_ns", "perf_counter_ns", "time_ns"}


def _reads_a_clock(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _CLOCKS
               and isinstance(n.func.value, ast.Name) and n.func.value.id == "time" for n in ast.walk(node))


def test_no_test_asserts_on_wall_time():
    offenders = []
    for path in sorted((REPO / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert) and _reads_a_clock(node.test):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_the_check_of_wall_time_asserts_finds_one():
    tree = ast.parse("import time\nstarted = time.monotonic()\nassert time.monotonic() - started < 1.5\n")
    assert [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert) and _reads_a_clock(n.test)] == [3]


@pytest.mark.slow
def test_the_suite_collects_without_shared_beside_it(tmp_path):
    copy = tmp_path / "alone" / "pool-lint"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", ".pool_lint_cache", ".pytest_cache", ".hypothesis", "build"))
    assert not (copy.parent / "shared").exists()
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=copy, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ tests collected in [\d.]+s", last), last  # no "N errors" on that line
