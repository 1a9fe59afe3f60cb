from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# The configuration of a project whose runtime is a long-running server.
SERVER_PROJECT = "[project]\nname = 'demo'\n\n[tool.pool-lint]\nruntime = \"server\"\n"


def pytest_configure(config):
    """The runs of the suite keep their cache key (cache.key_path) in a folder of their
    own, not in the user's: the tests and the pool-lint they start share it."""
    import tempfile

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="pool-lint-tests-home-")


def run_cli(*args, cwd=None, input=None, env=None, timeout=None):
    """Run the real command line (`python -m pool_lint`) and capture its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pool_lint", *map(str, args)], cwd=cwd, input=input,
                          capture_output=True, text=True, env=full_env, timeout=timeout)


def write_tree(root: Path, files: dict, marker: "str | None" = "[project]\nname = 'demo'\n") -> Path:
    """Write a small project under `root`: each file's text (UTF-8) or bytes, and a
    pyproject.toml holding `marker` unless it is None."""
    root.mkdir(parents=True, exist_ok=True)
    if marker is not None:
        (root / "pyproject.toml").write_text(marker)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def project(tmp_path):
    """A temporary project root: write files with project.write("app/db.py", text). Its
    runtime is a long-running server (`runtime = "server"`), where every engine rule
    applies (SPEC 3b: capacity is planned by servers and workers only)."""

    class Project:
        root = tmp_path

        def write(self, rel, text, mode="w"):
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8", newline="")
            return path

    (tmp_path / "pyproject.toml").write_text(SERVER_PROJECT)
    return Project()
