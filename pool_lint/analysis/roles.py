"""File roles (SPEC 3): test code and migrations, where the engine-configuration rules
and the session rules stay silent unless `check-tests = true`."""
from __future__ import annotations

import fnmatch
import os
from pathlib import PurePath, PurePosixPath
from typing import Dict, Optional

from .names import ModuleNames

TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")
TEST_FOLDERS = ("tests", "test")


def is_test_path(path: Optional[PurePath]) -> bool:
    if path is None:
        return False
    if isinstance(path, str) and _POSIX:
        return is_test_relative(path)
    path = PurePath(path)
    if any(fnmatch.fnmatch(path.name, pattern) for pattern in TEST_FILES):
        return True
    return any(part in TEST_FOLDERS for part in path.parts[:-1])


# Where paths are POSIX ones, `is_test_relative` answers from the string alone; elsewhere
# (Windows: two separators, drives, names matched without case) it asks `is_test_path`.
_POSIX = os.sep == "/" and type(PurePath()) is PurePosixPath  # (PurePath() makes a PurePosixPath there)
_TEST_FOLDER_MEMO: Dict[str, bool] = {}


def is_test_relative(path: str) -> bool:
    """`is_test_path(PurePath(path))` for a path as a string (the screen asks it of every
    file of a project): the same answer, from string operations, each folder asked once.
    PurePosixPath drops empty and `.` parts; `*` matches any characters."""
    if not _POSIX:
        return is_test_path(PurePath(path))
    folder, _, name = path.rpartition("/")
    if name in ("", "."):  # `a/b/`, `a/.`: the name is the last real part
        parts = [part for part in path.split("/") if part and part != "."]
        if not parts:
            return False
        name, folder = parts[-1], "/".join(parts[:-1])
    if (name.startswith("test_") and name.endswith(".py")) or name.endswith("_test.py") or name == "conftest.py":
        return True
    if not folder:
        return False
    found = _TEST_FOLDER_MEMO.get(folder)
    if found is None:
        found = _TEST_FOLDER_MEMO[folder] = any(part in TEST_FOLDERS for part in folder.split("/"))
    return found


def is_migration(names: ModuleNames) -> bool:
    """A module that imports `alembic.context` (Alembic's env.py)."""
    return any(q == "alembic.context" or q.startswith("alembic.context.") for q in names.imports.values())


def role(path: Optional[PurePath], names: ModuleNames) -> str:
    """'test', 'migration' or 'app'."""
    if is_test_path(path):
        return "test"
    if is_migration(names):
        return "migration"
    return "app"
