"""The screen: which files can hold a finding at all, decided from bytes and a cheap
project index, before anything is parsed.

Every finding is about SQLAlchemy: an engine, a session, a session factory, a connection.
A file can only meet one if it mentions `sqlalchemy` or `sqlmodel` itself, or imports
(directly or through other project modules) from a project module that does: a route file
that gets its session from `Depends(get_session)` imports `get_session` from `app.db`; a
file that uses `SessionDep` imports it from `app.deps`, which imports from `app.db`.

So stage one records, per file, whether it mentions the database libraries and the words
of its import statements (module names and imported names); the project index then marks
every module whose own name is imported by a database-related module's importer, to a fixed
point. Matching is by the last component of a module name, so a collision only
over-selects (a file parsed for nothing), never under-selects. Tests run the whole pipeline
with and without the screen and compare the findings.
"""
from __future__ import annotations

import os
import re
from typing import Dict, FrozenSet, Iterable, Set

DB_WORDS = (b"sqlalchemy", b"sqlmodel")

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+\.*([\w.]*)[ \t]+import[ \t]*\(?([\w, \t\\\r\n]*)|import[ \t]+([\w., \t]+))",
    re.MULTILINE,
)


class FileFacts(tuple):
    """(mentions_db, words): a plain tuple, so that a cache of ten thousand loads fast;
    `words` are the last components of imported modules and the imported names, joined
    by spaces."""

    __slots__ = ()

    def __new__(cls, mentions_db: bool, words: str = ""):
        return tuple.__new__(cls, (mentions_db, words))

    def __getnewargs__(self):
        return tuple(self)

    @property
    def mentions_db(self) -> bool:
        return self[0]

    @property
    def words(self) -> FrozenSet[str]:
        return frozenset(self[1].split())


def file_facts(data: bytes) -> FileFacts:
    mentions_db = any(word in data for word in DB_WORDS)
    if mentions_db:
        return FileFacts(True)  # in any case; its imports do not matter
    words: Set[str] = set()
    if b"import" in data:
        for module, names, plain in _IMPORT.findall(data):
            if plain:
                for part in plain.split(b","):
                    dotted = part.split()[0] if part.split() else b""
                    if dotted:
                        words.add(dotted.rsplit(b".", 1)[-1].decode("ascii", "replace"))
                continue
            if module:
                words.add(module.rsplit(b".", 1)[-1].decode("ascii", "replace"))
            for name in re.split(rb"[,\s()\\]+", names):
                if name and name != b"as":
                    words.add(name.decode("ascii", "replace"))
    return FileFacts(False, " ".join(sorted(words)))


def own_word(path: str) -> str:
    """The last component of a file's module name (its package's for __init__.py)."""
    folder, name = os.path.split(path)
    return os.path.basename(folder) if name == "__init__.py" else name[:-3] if name.endswith(".py") else name


def select(facts: Dict[str, FileFacts]) -> Set[str]:
    """The files (keys of `facts`, all of one project) that can hold a finding."""
    chosen = {path for path, f in facts.items() if f.mentions_db}
    known = {own_word(path) for path in chosen}
    pending = {path: f.words for path, f in facts.items() if path not in chosen and f.words}
    changed = True
    while changed:
        changed = False
        for path, words in list(pending.items()):
            if words & known:
                chosen.add(path)
                known.add(own_word(path))
                del pending[path]
                changed = True
    return chosen


def may_hold_finding(data: bytes, imports_from_db_modules: Iterable[str] = ()) -> bool:
    """A single file's verdict when the project is not indexed (the API)."""
    facts = file_facts(data)
    return facts.mentions_db or bool(facts.words & set(imports_from_db_modules))
