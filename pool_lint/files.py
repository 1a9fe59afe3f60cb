"""Finding the files to check (SPEC 5): paths and directories, default excludes,
`exclude` / `extend-exclude` globs, and standard input."""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

from .config import Settings

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


@dataclass(frozen=True)
class Target:
    path: Optional[Path]  # None for standard input
    display: str  # as walked from the argument, for reports
    missing: Optional[str] = None  # why the argument could not be used


def project_root(path: Path) -> Path:
    """The nearest folder at or above `path` holding pyproject.toml, setup.cfg, setup.py
    or .git; the path's own folder when there is none."""
    path = Path(path).resolve()
    folder = path if path.is_dir() else path.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return folder


def _excluded(rel: str, name: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if name == pattern or fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(rel, pattern):
            return True
        if fnmatch.fnmatch(rel, f"*/{pattern}") or fnmatch.fnmatch(rel, f"{pattern}/*"):
            return True
    return False


def _display(argument: str, rel: str) -> str:
    if argument in (".", "./", ""):
        return rel
    return os.path.join(argument, rel).replace(os.sep, "/") if os.sep != "/" else os.path.join(argument, rel)


def walk(argument: str, settings: Settings) -> Iterator[Target]:
    base = Path(argument)
    patterns = (*settings.exclude, *settings.extend_exclude)
    for folder, dirs, files in os.walk(base, onerror=None):
        rel_folder = os.path.relpath(folder, base)
        rel_folder = "" if rel_folder == "." else rel_folder.replace(os.sep, "/")
        keep = []
        for d in sorted(dirs):
            rel = f"{rel_folder}/{d}" if rel_folder else d
            if not _excluded(rel, d, patterns):
                keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            rel = f"{rel_folder}/{name}" if rel_folder else name
            if _excluded(rel, name, patterns):
                continue
            yield Target(Path(folder, name), _display(argument, rel))


def discover(arguments: Sequence[str], settings: Settings, stdin_filename: Optional[str] = None
             ) -> Tuple[List[Target], List[str]]:
    """(targets, warnings). A directory without Python files gives a warning; a missing
    path gives a target that reports POL001."""
    targets: List[Target] = []
    warnings: List[str] = []
    seen = set()
    for argument in arguments:
        if argument == "-":
            targets.append(Target(Path(stdin_filename) if stdin_filename else None, stdin_filename or "-"))
            continue
        path = Path(argument)
        if path.is_dir():
            found = 0
            for target in walk(argument, settings):
                key = target.path.resolve()
                if key not in seen:
                    seen.add(key)
                    targets.append(target)
                    found += 1
            if not found:
                warnings.append(f"no Python files found under {argument}")
        elif path.is_file() or path.is_symlink():
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                targets.append(Target(path, argument))
        else:
            targets.append(Target(path, argument, missing="No such file or directory"))
    return targets, warnings
