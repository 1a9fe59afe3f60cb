"""File roles (SPEC 3): test code and migrations, where the engine-configuration rules
and the session rules stay silent unless `check-tests = true`."""
from __future__ import annotations

import fnmatch
from pathlib import PurePath
from typing import Optional

from .names import ModuleNames

TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")
TEST_FOLDERS = ("tests", "test")


def is_test_path(path: Optional[PurePath]) -> bool:
    if path is None:
        return False
    path = PurePath(path)
    if any(fnmatch.fnmatch(path.name, pattern) for pattern in TEST_FILES):
        return True
    return any(part in TEST_FOLDERS for part in path.parts[:-1])


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
