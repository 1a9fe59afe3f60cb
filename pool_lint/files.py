"""Finding the files to check (SPEC 5): paths and directories, default excludes,
`exclude` / `extend-exclude` globs, and standard input."""
from __future__ import annotations

import fnmatch
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .config import Settings

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


class Target(NamedTuple):
    """One file to check (a tuple: a walk makes one per file)."""

    file: Optional[str]  # None for standard input
    display: str  # as walked from the argument, for reports
    missing: Optional[str] = None  # why the argument could not be used
    absolute: Optional[str] = None  # os.path.abspath(file), when the walk knows it already

    @property
    def path(self) -> Optional[Path]:
        return Path(self.file) if self.file is not None else None


def write_atomically(path: Path, write: Callable[[object], None], mode: Optional[int] = None) -> None:
    """Write a file through a temporary one beside it, then rename it over the file: a
    reader sees the old content or the new, never half of it. `write(handle)` writes the
    bytes; `mode`: the permissions to give it (the file's own, for a fix). The temporary
    name is this process's own, so no other live process writes it (not `tempfile`,
    which costs a warm run more to import than the cache's write takes)."""
    temp = path.parent / f".{path.name}.{os.getpid()}.pool-lint"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        if mode is not None:
            os.chmod(temp, mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def project_root(path: Path) -> Path:
    """The nearest folder at or above `path` holding pyproject.toml, setup.cfg, setup.py
    or .git; the path's own folder when there is none."""
    path = Path(os.path.abspath(path))
    folder = path if path.is_dir() else path.parent
    return _root_of_folder(str(folder))


def root_of_file(abs_path: str) -> Path:
    """`project_root` for an absolute path known to be a file (no stat of its own)."""
    return _root_of_folder(os.path.dirname(abs_path))


@lru_cache(maxsize=None)
def _root_of_folder(folder: str) -> Path:
    real = _real_folder(folder)
    found = _marked_folder(real)
    return Path(found if found is not None else real)


@lru_cache(maxsize=None)
def _real_folder(folder: str) -> str:
    """os.path.realpath of an absolute, normalised folder, with one lstat per folder: its
    parent's real path is remembered."""
    parent, name = os.path.split(folder)
    if not name or parent == folder:
        return os.path.realpath(folder)
    here = os.path.join(_real_folder(parent), name)
    return os.path.realpath(here) if os.path.islink(here) else here


@lru_cache(maxsize=None)
def _marked_folder(folder: str) -> Optional[str]:
    """The nearest folder at or above `folder` (a real path) holding a root marker."""
    if any(os.path.exists(os.path.join(folder, marker)) for marker in ROOT_MARKERS):
        return folder
    parent = os.path.dirname(folder)
    return None if parent == folder else _marked_folder(parent)


class Excludes:
    """Exclude globs, split once into plain names (a set lookup) and real globs."""

    def __init__(self, patterns: Sequence[str]):
        cleaned = [p.rstrip("/") for p in patterns if p.strip("/")]
        self.names = frozenset(p for p in cleaned if not any(c in p for c in "*?[/"))
        globs = [p for p in cleaned if p not in self.names]
        self.regex = re.compile("|".join(
            f"(?:{fnmatch.translate(p)})|(?:{fnmatch.translate('*/' + p)})|(?:{fnmatch.translate(p + '/*')})"
            for p in globs)) if globs else None

    def __call__(self, rel: str, name: str) -> bool:
        if name in self.names:
            return True
        return self.regex is not None and (self.regex.match(rel) is not None or self.regex.match(name) is not None)


def _display(argument: str, rel: str) -> str:
    if argument in (".", "./", ""):
        return rel
    return os.path.join(argument, rel).replace(os.sep, "/") if os.sep != "/" else os.path.join(argument, rel)


# A folder's entries as one walk listed them (os.DirEntry, which keep what they learnt of
# each entry): absolute folder path -> entries, or None when the folder cannot be listed.
Listing = Dict[str, Optional[list]]


def entries_of(folder: str, listing: Optional[Listing] = None) -> Optional[list]:
    """The entries of a folder (absolute path), from `listing` when it has them."""
    if listing is not None and folder in listing:
        return listing[folder]
    try:
        with os.scandir(folder) as it:
            found = list(it)
    except OSError:
        found = None
    if listing is not None:
        listing[folder] = found
    return found


def _walk(base: str, absolute_base: str, listing: Optional[Listing]):
    """`os.walk(base)` (top-down, symbolic links to folders listed but not entered,
    unreadable folders skipped), each folder with its absolute path, recording what it
    lists in `listing`."""
    stack = [(base, absolute_base)]
    while stack:
        folder, absolute = stack.pop()
        entries = entries_of(absolute, listing)
        if entries is None:
            continue
        dirs, files, links = [], [], set()
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                dirs.append(entry.name)
                try:
                    if entry.is_symlink():
                        links.add(entry.name)
                except OSError:
                    pass
            else:
                files.append(entry.name)
        yield folder, absolute, dirs, files
        inside = folder if folder.endswith(os.sep) else folder + os.sep
        absolute_inside = absolute if absolute.endswith(os.sep) else absolute + os.sep
        stack.extend((inside + name, absolute_inside + name) for name in reversed(dirs) if name not in links)


def walk(argument: str, settings: Settings, listing: Optional[Listing] = None) -> Iterator[Target]:
    excluded = Excludes((*settings.exclude, *settings.extend_exclude))
    base = os.path.normpath(argument)
    cut = len(base) + 1
    absolute_base = os.path.abspath(base)
    for folder, absolute_folder, dirs, files in _walk(base, absolute_base, listing):
        rel_folder = folder[cut:].replace(os.sep, "/") if folder != base else ""
        dirs[:] = sorted(d for d in dirs if not excluded(f"{rel_folder}/{d}" if rel_folder else d, d))
        inside = folder if folder.endswith(os.sep) else folder + os.sep  # os.path.join, without its cost
        absolute_inside = absolute_folder if absolute_folder.endswith(os.sep) else absolute_folder + os.sep
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            rel = f"{rel_folder}/{name}" if rel_folder else name
            if excluded(rel, name):
                continue
            yield Target(inside + name, _display(argument, rel), absolute=absolute_inside + name)


def discover(arguments: Sequence[str], settings: Settings, stdin_filename: Optional[str] = None,
             listing: Optional[Listing] = None) -> Tuple[List[Target], List[str]]:
    """(targets, warnings). A directory without Python files gives a warning; a missing
    path gives a target that reports POL001. `listing` (filled in): what the walk
    listed, for the run's later walks of the same folders."""
    targets: List[Target] = []
    warnings: List[str] = []
    seen = set()
    for argument in arguments:
        if argument == "-":
            targets.append(Target(stdin_filename or None, stdin_filename or "-"))
            continue
        path = Path(argument)
        if path.is_dir():
            found = 0
            for target in walk(argument, settings, listing):
                key = target.absolute
                if key not in seen:
                    seen.add(key)
                    targets.append(target)
                    found += 1
            if not found:
                warnings.append(f"no Python files found under {argument}")
        elif path.is_file() or path.is_symlink():
            key = os.path.abspath(path)
            if key not in seen:
                seen.add(key)
                targets.append(Target(argument, argument))
        else:
            targets.append(Target(argument, argument, missing="No such file or directory"))
    return targets, warnings
