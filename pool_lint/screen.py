"""The screen: which files can hold a finding at all, decided from bytes and a cheap
project index, before anything is parsed.

Every finding is about SQLAlchemy: an engine, a session, a session factory, a connection.
A file can only meet one if it mentions `sqlalchemy` or `sqlmodel` itself, or imports a
name through which another chosen file hands out a session or an engine: a route file
that gets its session from `Depends(get_db)` imports `get_db`; a file that uses
`SessionDep` imports it.

So stage one records, per file, whether it mentions the database libraries, the words of
its import statements (module names and imported names), and the module-level names it
"provides": assignments whose value mentions a session, an engine, `Depends` or
`Annotated`, functions that yield or return and mention one, `as` aliases of such names.
The project index then chooses, to a fixed point, the files that import a provided name
or a chosen module. Matching is by bare name, so a collision only over-selects (a file
parsed for nothing), never under-selects. Tests run the whole pipeline with and without
the screen and compare the findings.
"""
from __future__ import annotations

import os
import re
from typing import Dict, FrozenSet, Iterable, Set

DB_WORDS = (b"sqlalchemy", b"sqlmodel")

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+\.*([\w.]*)[ \t]+import[ \t]*(?:\(([^)]*)\)|([\w, \t]*))|import[ \t]+([\w., \t]+))",
    re.MULTILINE,
)


class FileFacts(tuple):
    """(mentions_db, words, provides): a plain tuple, so that a cache of ten thousand loads
    fast. `words` are the last components of imported modules and the imported names;
    `provides` the module-level names this file may hand a session or an engine through
    (a factory, an engine, a dependency, an alias); both joined by spaces."""

    __slots__ = ()

    def __new__(cls, mentions_db: bool, words: str = "", provides: str = ""):
        return tuple.__new__(cls, (mentions_db, words, provides))

    def __getnewargs__(self):
        return tuple(self)

    @property
    def mentions_db(self) -> bool:
        return self[0]

    @property
    def words(self) -> FrozenSet[str]:
        return frozenset(self[1].split())

    @property
    def provides(self) -> FrozenSet[str]:
        return frozenset(self[2].split())


_ASSIGN = re.compile(rb"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)([^\n]*)", re.MULTILINE)
_TOP_DEF = re.compile(rb"^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_TOP_LEVEL = re.compile(rb"^[^\s#]", re.MULTILINE)
_HANDS_OUT = (b"ession", b"ngine", b"Depends", b"Annotated", b"connect")
_ALIAS = re.compile(rb"\b(\w*(?:ession|ngine)\w*)[ \t]+as[ \t]+(\w+)")


def _provides(data: bytes) -> Set[str]:
    """Module-level names through which this file may hand out a session or an engine."""
    if not any(word in data for word in _HANDS_OUT):
        return set()
    names: Set[str] = set()
    for name, value in _ASSIGN.findall(data):
        if any(word in value for word in _HANDS_OUT):
            names.add(name.decode("ascii", "replace"))
    starts = [m.start() for m in _TOP_LEVEL.finditer(data)] + [len(data)]
    for match in _TOP_DEF.finditer(data):
        end = next((s for s in starts if s > match.start()), len(data))
        body = data[match.start():end]
        if (b"yield" in body or b"return" in body) and any(word in body for word in _HANDS_OUT):
            names.add(match.group(1).decode("ascii", "replace"))
    for original, alias in _ALIAS.findall(data):
        names.update((original.decode("ascii", "replace"), alias.decode("ascii", "replace")))
    return names


def file_facts(data: bytes) -> FileFacts:
    mentions_db = any(word in data for word in DB_WORDS)
    provides = " ".join(sorted(_provides(data)))
    if mentions_db:
        return FileFacts(True, "", provides)  # in any case; its imports do not matter
    words: Set[str] = set()
    if b"import" in data:
        for module, grouped, names, plain in _IMPORT.findall(data):
            names = grouped or names
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
    return FileFacts(False, " ".join(sorted(words)), provides)


def own_word(path: str) -> str:
    """The last component of a file's module name (its package's for __init__.py)."""
    folder, name = os.path.split(path)
    return os.path.basename(folder) if name == "__init__.py" else name[:-3] if name.endswith(".py") else name


def select(facts: Dict[str, FileFacts]) -> Set[str]:
    """The files (keys of `facts`, all of one project) that can hold a finding: those that
    mention the database libraries, and those importing a name (or the module) through
    which a chosen file hands out a session or an engine, to a fixed point."""
    chosen = {path for path, f in facts.items() if f.mentions_db}
    provided: Set[str] = set()
    for path in chosen:
        provided |= facts[path].provides | {own_word(path)}
    pending = {path: f.words for path, f in facts.items() if path not in chosen and f.words}
    changed = True
    while changed:
        changed = False
        for path, words in list(pending.items()):
            if words & provided:
                chosen.add(path)
                extra = facts[path].provides
                if extra:
                    provided |= extra | {own_word(path)}
                    changed = True
                del pending[path]
    return chosen


def may_hold_finding(data: bytes, imports_from_db_modules: Iterable[str] = ()) -> bool:
    """A single file's verdict when the project is not indexed (the API)."""
    facts = file_facts(data)
    return facts.mentions_db or bool(facts.words & set(imports_from_db_modules))
