"""A cache of per-file results, like ruff's: a warm run re-analyses only what changed.

An entry is keyed by the file's content hash, and is valid for one pool-lint version and
one configuration (the cache file's name holds both). Because pool-lint resolves names
across the project, an entry also records the project files its analysis read (with
their size and modification time) and the runtime verdict it saw: when any of those
changed, the entry is stale. A stat that matches the recorded one spares reading the file.

A corrupted or unwritable cache is ignored with a warning, never fatal.
"""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import __version__
from .files import write_atomically

try:  # CPython's own module: hashlib would load OpenSSL first, at start-up cost
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - another interpreter
    from hashlib import blake2b as _blake2b

CACHE_DIR = ".pool_lint_cache"
FORMAT = 9  # of the entries; part of the cache file's name
Stat = Tuple[int, int]  # (mtime_ns, size)


def stat_of(path) -> Optional[Stat]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def digest(data: bytes) -> str:
    return _blake2b(data, digest_size=16).hexdigest()


class Entry:
    """What the cache knows of one file (a slotted class: ten thousand of them load at
    the start of a warm run)."""

    __slots__ = ("stat", "content", "facts", "ebits", "evidence", "findings", "deps", "runtime", "hint")

    def __init__(self, stat: Stat, content: str, facts: object = None, ebits: int = 0,
                 evidence: Optional[tuple] = None, findings: Optional[list] = None,
                 deps: Tuple[Tuple[str, Optional[Stat]], ...] = (), runtime: str = "", hint: object = None):
        self.stat = stat
        self.content = content  # content hash
        self.facts = facts  # what the screen needs (screen.FileFacts)
        self.ebits = ebits  # which runtime evidence the file may hold (runtime.evidence_bits)
        self.evidence = evidence  # the runtime evidence it holds; None: not read yet
        self.findings = findings  # List[Finding]; None: not analysed yet
        self.deps = deps  # other project files the analysis read, with their stats
        self.runtime = runtime  # the runtime verdict the analysis saw (its key; "" when it asked none)
        # Where the project index let the analysis look (screen.Index.hint; None: everywhere).
        # The findings hold for that hint only: what lies outside it was not read, nor what
        # it would have led to in other files (which `deps` therefore cannot name).
        self.hint = hint

    def __reduce__(self):  # a tuple, not a __dict__: loads several times faster
        return (Entry, (self.stat, self.content, self.facts, self.ebits, self.evidence, self.findings, self.deps,
                        self.runtime, self.hint))


class Cache:
    def __init__(self, path: Optional[Path]):
        self.path = path
        self.entries: Dict[str, Entry] = {}
        # Per project root, the project index's answer: (key, screened files, whether one of
        # them may build an engine, where session rules can fire in each). The key digests
        # every file's path and content hash.
        self.roots: Dict[str, tuple] = {}
        self.dirty = False
        self.warnings: List[str] = []

    @classmethod
    def open(cls, folder: Path, settings_key: str) -> "Cache":
        # The parser is the running Python's: its version decides what is a syntax error.
        name = digest(f"{__version__}\0{sys.version_info[:2]}\0{settings_key}".encode())
        path = Path(folder) / CACHE_DIR / f"{__version__}-{FORMAT}-{name}.pickle"
        cache = cls(path)
        if path.exists():
            try:
                with path.open("rb") as handle:
                    entries, roots = pickle.load(handle)
                if not isinstance(entries, dict) or not all(isinstance(e, Entry) for e in entries.values()) \
                        or not isinstance(roots, dict):
                    raise ValueError("not a cache")
                cache.entries, cache.roots = entries, roots
            except Exception as exc:  # noqa: BLE001 - any corruption: start afresh
                cache.warnings.append(f"ignoring a corrupted cache at {path} ({type(exc).__name__})")
                cache.entries, cache.roots = {}, {}
        return cache

    def valid(self, key: str) -> Optional[Entry]:
        """The entry for a file whose content is unchanged (a matching stat spares reading)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        stat = stat_of(key)
        if stat is None:
            return None
        if entry.stat != stat:
            try:
                data = Path(key).read_bytes()
            except OSError:
                return None
            if digest(data) != entry.content:
                return None
            entry.stat = stat
            self.dirty = True
        return entry

    @staticmethod
    def deps_valid(entry: Entry) -> bool:
        return all(stat_of(dep) == dep_stat for dep, dep_stat in entry.deps)

    def update_scan(self, key: str, stat: Optional[Stat], content: str, facts, ebits: int) -> None:
        if stat is None:
            return
        old = self.entries.get(key)
        if old is not None and old.content == content:
            old.stat, old.facts, old.ebits = stat, facts, ebits
        else:
            self.entries[key] = Entry(stat, content, facts, ebits)
        self.dirty = True

    def root_index(self, root: str, key: str) -> Optional[tuple]:
        """(screened files, engines, hints) remembered for a root whose files are all
        unchanged."""
        found = self.roots.get(root)
        return found[1:] if found is not None and found[0] == key else None

    def update_root_index(self, root: str, key: str, screened, engines: bool, hints: dict) -> None:
        self.roots[root] = (key, tuple(sorted(screened)), engines, dict(hints))
        self.dirty = True

    def update_evidence(self, key: str, evidence: tuple) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            entry.evidence = tuple(evidence)
            self.dirty = True

    def update_findings(self, key: str, findings: list, deps, runtime: str, hint=None) -> None:
        entry = self.entries.get(key)
        if entry is None:
            return
        entry.findings = list(findings)
        entry.deps = tuple((dep, stat_of(Path(dep))) for dep in deps)
        entry.runtime = runtime
        entry.hint = hint
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        try:
            folder = self.path.parent
            folder.mkdir(parents=True, exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Automatically created by pool-lint.\n*\n")
            write_atomically(self.path, lambda handle: pickle.dump(
                (self.entries, self.roots), handle, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            self.warnings.append(f"could not write the cache at {self.path}: {exc.strerror or exc}")
