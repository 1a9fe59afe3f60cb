"""The screen: which files can hold a finding at all, and where in them, decided from
bytes and a cheap project index, before anything is parsed.

Each rule family needs something a file must contain, in its own bytes or through a name
it imports from another module of the project (and no family is kept in test code
unless `check-tests`: SPEC 3, file roles):

- POL101-POL111 an engine factory call: `create_engine`, `create_async_engine`,
  `engine_from_config` (or an `as` alias of one, imported), Flask-SQLAlchemy's
  `SQLAlchemy(` or advanced-alchemy's `SQLAlchemy{Async,Sync}Config(`; POL114 a
  Flask-SQLAlchemy 2.x pool key (`SQLALCHEMY_POOL_...`);
- POL204 `async_sessionmaker` or `AsyncSession(` (or an `as` alias of one);
- POL201-POL203 and POL205 a session or connection source: a session class or
  factory, an engine, or a name the project hands one out through (`SessionLocal`,
  `engine`, `SessionDep`, a function that returns or yields a session and a class with
  such a method, what is made from one, and under `Depends` a dependency function). On top of that,
  POL201/POL202 an external call: an import that can lead to a catalogued client or
  request function (analysis/catalog.py: `httpx.AsyncClient` can, `httpx.Response`
  cannot), directly or re-exported by a project module, or a project function or
  client that (transitively) makes one; POL203 a session created (a session class or
  factory called); POL205 `gather` / `create_task`.

Stage one records per file (cached by content) what its bytes say alone: a bit set of
the words above, found anywhere in the bytes (strings and comments included: a word
there only over-selects), and its import statements, read by Python's tokenizer from
each place the word `import` stands (statements.import_statements: every import the
parser sees; a text in a string that reads as an import counts too, which over-selects):
the modules and names they import, the `as` aliases, and the names imported from
external-call libraries; and whether its text may name flask_sqlalchemy (FLASK: for
plan.Plan.flask, stages.flask_free). For the files the index reads first, the workers
also lay out their module-level statements (statements.layout, from the tokenizer). The project index
then grows, to a fixed point, the names through which the project hands out a session or
an engine, and the names of project functions and clients that make external calls; for
these it reads again (from the page cache) only the files that could provide one.

Which words of a statement are code is the tokenizer's answer too: its NAME tokens, and
its f-strings (whose fields are code). A word in a plain string or a comment counts for
nothing; a file the tokenizer rejects (under the running Python) counts as anything
anywhere (it is kept whole, and its analysis reports POL001).

A session rule looks inside one function, so a file is kept for a session family only
when one of its module-level statements (a function with all it holds; for a class,
each of its members) names both what the rule needs: a session word and an external
call's name, a session word and a task word, or a session made. The index hands those
statements' line ranges on in the file's plan (`Index.plan`, plan.Plan): the checker
shows the rules only those, and parses the rest only as far as a question reaches it.

The index reads the files of the root's walk only, but the analysis loads a module from
disk wherever an import finds it, `build/` or another project's root included: a name
imported from a module that may be loaded from what the walk left out counts as anything
(Index._left_out).

Matching is by bare name and by substring, so a collision only over-selects (a file
parsed for nothing), never under-selects. Tests compare the default run with an oracle
(pool_lint.oracle: no screen, no hints, every module parsed whole) over the acceptance
projects, large trees and 1,400 mutants of them (tests/test_screen_differential.py).
"""
from __future__ import annotations

import os
import re
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

# What can call out (the catalogue): an import of anything else calls nothing out.
from .analysis.catalog import EXTERNAL_MODULES, external_import
from .analysis.statements import Statement, Unit, code_words, import_groups, last_line, layout, members_of
from .analysis.text import SourceError, decode
from .plan import EVERYWHERE, Plan

# -- what one file's bytes say ---------------------------------------------------------------
DB = 1  # mentions sqlalchemy / sqlmodel
ENGINE = 2  # an engine factory's name
ASYNC = 4  # an async session class or factory called (POL204)
SESSION = 8  # a session class or factory (any)
CREATE = 16  # a session class or factory called (or aliased)
EXT = 32  # imports an external-call library
TASKS = 64  # concurrency: gather / create_task / ensure_future / TaskGroup
DEPENDS = 128  # FastAPI's Depends
STAR = 256  # a star import: any name may have come in
FLASK = 512  # the text Python reads may name flask_sqlalchemy (names_flask_sqlalchemy)
# The file's own words were not looked for (every bit above but EXT and FLASK, which
# its imports and FLASK's own check give): test code where no rule fires in it
# (tasks._scan), which the index reads only if code outside the tests imports from it
# (Index._needed), and then reads again in full (Index._read_again).
UNREAD = 1024
PLAIN = 2048  # the bytes are their own text: ASCII, no encoding cookie (plain_text)
# A name in the file may be spelled in another form than the one Python reads (its NFKC
# form: `ｓqlalchemy` is sqlalchemy), or its bytes do not decode: the screen's words and
# the tokenizer's names would miss it, so the index takes the file as one that may hold
# anything anywhere (Index._left_out's `wild`), and what other files take from it as
# anything (compatibility_names).
COMPAT = 4096
# What a name imported from a module the index cannot read may carry (Index._left_out).
ANYTHING = DB | ENGINE | ASYNC | SESSION | CREATE | EXT | TASKS | DEPENDS

DB_WORDS = (b"sqlalchemy", b"sqlmodel")
ENGINE_WORDS = (b"create_engine", b"create_async_engine", b"engine_from_config")
# Engines built for the code (SPEC 3c): Flask-SQLAlchemy's `SQLAlchemy(...)`, advanced-alchemy's
# configs; and the Flask-SQLAlchemy 2.x pool keys (POL114). Each holds "SQLAlchemy" or "SQLALCHEMY_".
FRAMEWORK_ENGINE_WORDS = (b"SQLAlchemy", b"SQLAlchemyAsyncConfig", b"SQLAlchemySyncConfig")
LEGACY_KEY_WORDS = (b"SQLALCHEMY_POOL_", b"SQLALCHEMY_MAX_OVERFLOW")
SESSION_WORDS = (b"Session", b"sessionmaker", b"scoped_session")
TASK_WORDS = (b"gather", b"create_task", b"ensure_future", b"TaskGroup")
# CREATE, ASYNC, TASKS: a session class or factory, an async one, a task function called
# (or imported under another name): facts_and_tops and _called.

# The bits a bare name carries wherever it is imported under another name.
NAME_BITS = {
    "create_engine": ENGINE, "create_async_engine": ENGINE, "engine_from_config": ENGINE,
    "async_engine_from_config": ENGINE,
    "SQLAlchemy": ENGINE, "SQLAlchemyAsyncConfig": ENGINE, "SQLAlchemySyncConfig": ENGINE,
    "Session": SESSION | CREATE, "sessionmaker": SESSION | CREATE, "scoped_session": SESSION | CREATE,
    "AsyncSession": ASYNC | SESSION | CREATE, "async_sessionmaker": ASYNC | SESSION | CREATE,
    "async_scoped_session": SESSION | CREATE,
    "gather": TASKS, "create_task": TASKS, "ensure_future": TASKS, "TaskGroup": TASKS, "Depends": DEPENDS,
}

# A call of a session class or factory, or of a task function, or an import of one
# under another name: the name, then anything a call's name and its bracket can have
# between them (blanks, line ends, a backslash, comments), then `(` or `as`. Matched on
# the bytes, strings and comments included: it can only over-select.
_CALLED = re.compile(rb"(?:\s|\\|#[^\r\n]*)*(?:\(|as\b)")


def _called(data: bytes, names: Tuple[bytes, ...]) -> bool:
    """Is one of the names followed by a call's bracket or an `as` (see _CALLED)?"""
    after = _CALLED.match
    for name in names:
        at = data.find(name)
        while at >= 0:
            if after(data, at + len(name)):
                return True
            at = data.find(name, at + 1)
    return False


class FileFacts(tuple):
    """(bits, imports, ext_names): a plain tuple, so that a cache of ten thousand loads
    fast. `imports`: one `module|name|local` entry per imported name (`a.b||a` for
    `import a.b`, `.m|x|y` for `from .m import x as y`); `ext_names`: the local names
    bound by imports of external-call libraries; both joined by spaces."""

    __slots__ = ()

    def __new__(cls, bits: int, imports: str = "", ext_names: str = ""):
        return tuple.__new__(cls, (bits, imports, ext_names))

    def __getnewargs__(self):
        return tuple(self)

    @property
    def bits(self) -> int:
        return self[0]

    @property
    def mentions_db(self) -> bool:
        return bool(self[0] & DB)

    @property
    def imports(self) -> List[Tuple[str, str, str]]:
        return [tuple(entry.split("|")) for entry in self[1].split()]

    @property
    def ext_names(self) -> FrozenSet[str]:
        return frozenset(self[2].split())

    @property
    def top_modules(self) -> FrozenSet[str]:
        """The top-level modules of the file's absolute imports (`a` for `import a.b`)."""
        return frozenset(entry.split("|", 1)[0].split(".", 1)[0] for entry in self[1].split()
                         if entry[:1] != ".")


def external_words(external_calls: Iterable[str]) -> FrozenSet[str]:
    """The components of the configured `external-calls` names: an import that names one
    of them (a module, a class, a function) may lead to a configured call."""
    return frozenset(part for name in external_calls for part in name.split(".") if part)


def file_facts(data: bytes, configured: FrozenSet[str] = frozenset()) -> FileFacts:
    """What one file's bytes say, for the project index (`configured`: external_words)."""
    return facts_and_tops(data, configured)[0]


def facts_and_tops(data: bytes, configured: FrozenSet[str] = frozenset(), words: bool = True
                   ) -> Tuple[FileFacts, FrozenSet[str]]:
    """(file_facts, its top_modules), the second from the same reading of the imports.
    `words` False: the file's own words are not looked for (UNREAD), its imports and
    FLASK are (test code where no rule fires: tasks._scan)."""
    if not words:
        bits = UNREAD | (FLASK if names_flask_sqlalchemy(data) else 0)
        if not plain_text(data) and compatibility_names(data):
            bits |= COMPAT
        return _facts_with_imports(bits, data, configured)
    # Each group is asked through a word all its members contain: most files hold none,
    # and every `in` is a scan of the whole file.
    bits = 0
    if b"sqlalchemy" in data or b"sqlmodel" in data:
        bits |= DB
    if b"engine" in data and any(word in data for word in ENGINE_WORDS):
        bits |= ENGINE
    if b"SQLAlchemy" in data and _called(data, FRAMEWORK_ENGINE_WORDS):
        bits |= ENGINE
    if b"SQLALCHEMY_" in data and any(word in data for word in LEGACY_KEY_WORDS):
        bits |= ENGINE
    if b"ession" in data and any(word in data for word in SESSION_WORDS):
        bits |= SESSION
        if b"async_sessionmaker" in data or _called(data, (b"AsyncSession",)):
            bits |= ASYNC
        if b"sessionmaker" in data or b"scoped_session" in data or _called(data, (b"Session",)):
            bits |= CREATE
    # POL205 looks at a file only when it names gather or create_task (rules/sessions.py).
    if (b"gather" in data or b"create_task" in data) and (
            b"TaskGroup" in data or _called(data, (b"gather", b"create_task", b"ensure_future"))):
        bits |= TASKS
    if b"Depends" in data:
        bits |= DEPENDS
    if names_flask_sqlalchemy(data, bits & DB):
        bits |= FLASK
    if plain_text(data):
        bits |= PLAIN
    elif compatibility_names(data):
        bits |= COMPAT
    return _facts_with_imports(bits, data, configured)


def _cookie(data: bytes) -> bool:
    """May the bytes hold an encoding cookie (the word `coding` in their first two
    lines: over-selects)?"""
    end = data.find(b"\n", data.find(b"\n") + 1)  # the cookie's two lines end there
    return data.find(b"coding", 0, end if end >= 0 else len(data)) >= 0


def plain_text(data: bytes) -> bool:
    """Are the bytes their own text, as Python reads them: ASCII, with no encoding
    cookie in the first two lines (a name spelled otherwise, `ｓqlalchemy`, an escape of
    another encoding, cannot stand in them)?"""
    return data.isascii() and not _cookie(data)


def compatibility_names(data: bytes) -> bool:
    """May a name in these bytes (not plain_text) be spelled otherwise than Python reads
    it? So where a name of their code, or an f-string, holds a character that may stand
    in a name and whose NFKC form is another (`ｓ`, `ﬁ`, `ª`: the tokenizer reads the
    name as it is spelled, the parser in its NFKC form), or where they do not decode or
    tokenize. Such a character in a string or a comment (`"ℹ️ info"`) is none."""
    import unicodedata

    text = None
    try:
        if not _cookie(data):  # UTF-8: its other bytes alone
            others = set(data.translate(None, _ASCII).decode("utf-8"))
        else:
            text = decode(data)
            others = {char for char in text if not char.isascii()}
        found = [char for char in others if ("a" + char).isidentifier() and unicodedata.normalize("NFKC", char) != char]
        if not found:
            return False
        words = code_words(text if text is not None else decode(data))  # (a file that holds one: seldom)
    except (SourceError, UnicodeDecodeError):
        return True
    return words is None or any(char in word for word in words if not word.isascii() for char in found)


# The bits of a file's session words (a session class or factory named, called, async).
SESSION_BITS = SESSION | ASYNC | CREATE


def closed_off(bits: int, imports: str, candidates) -> bool:
    """Can none of a file's session words name an SQLAlchemy session? So where its text
    is its bytes (PLAIN), names neither sqlalchemy nor sqlmodel nor flask_sqlalchemy, has
    no star import (`imports`: FileFacts' entries, joined) and no import that may load a
    project file (`candidates`: project_imports's, for this run's project). The analysis
    knows a session by its qualified name (analysis/sessions.py): a class or factory of
    the library or of Flask-SQLAlchemy, or project code that hands one out; such a file
    reaches none of them, so its `requests.Session()` or `aiohttp.ClientSession` names
    something else. (An import that may load a file the walk left out is no candidate:
    the index gives such a file every bit, Index._left_out.)"""
    return bool(bits & PLAIN) and not bits & (DB | FLASK) and not candidates and "|*|" not in imports


def _facts_with_imports(bits: int, data: bytes, configured: FrozenSet[str]) -> Tuple[FileFacts, FrozenSet[str]]:
    """facts_and_tops's answer from the bits of the file's words and its imports."""
    # The same import lines recur across a project's files: each is read once per process.
    memo = _IMPORT_MEMO.get(configured)
    if memo is None:
        memo = _IMPORT_MEMO[configured] = ({}, lambda statements: _import_entries(statements, configured))
    groups = [found for _line, found in import_groups(data, memo[1], memo[0]) if found[0]]
    if not groups:
        return FileFacts(bits), _NOTHING
    ext = [found[1] for found in groups if found[1]]
    if ext:
        bits |= EXT
    return (FileFacts(bits, " ".join([found[3] for found in groups]), " ".join(sorted(set().union(*ext)))),
            frozenset().union(*[found[2] for found in groups]))


# Per `configured`: (a line's text -> its _import_entries, the conversion).
_IMPORT_MEMO: Dict[FrozenSet[str], tuple] = {}


def names_flask_sqlalchemy(data: bytes, sqlalchemy: bool = True) -> bool:
    """Can the text Python reads from these bytes hold the word `flask_sqlalchemy` as an
    identifier is read (anywhere: over-selects)? Python decodes the bytes (BOM, an
    encoding cookie in the first two lines, else UTF-8) and reads an identifier in its
    NFKC form (`ｆlask_sqlalchemy` is `flask_sqlalchemy`): one whose NFKC form is that
    ASCII word has it as its NFKD form too, each of its characters having an ASCII NFKD
    form; so the word stands in the NFKD form of the text. ASCII bytes without a cookie
    are their own text; UTF-8 without a character whose NFKD form is ASCII (`ｆ`, `ﬂ`;
    not `é`) holds such a name only as ASCII bytes. `sqlalchemy`: False when the bytes are
    known not to hold b"sqlalchemy" (the DB bit)."""
    if sqlalchemy and b"flask_sqlalchemy" in data:
        return True
    cookie = _cookie(data)
    if not cookie and data.isascii():
        return False
    import unicodedata

    if not cookie:
        others = set(data.translate(None, _ASCII).decode("utf-8", "replace"))
        if not any(unicodedata.normalize("NFKD", char).isascii() for char in others):
            return False
    try:
        text = decode(data)
    except SourceError:
        return True
    return "flask_sqlalchemy" in unicodedata.normalize("NFKD", text)


_ASCII = bytes(range(128))


def _import_entries(statements: tuple, configured: FrozenSet[str]
                    ) -> Tuple[List[str], Tuple[str, ...], Tuple[str, ...], str]:
    """(FileFacts import entries, local names bound to external-call imports, the
    top-level modules of their absolute imports: FileFacts.top_modules, the entries
    joined by spaces) of import statements (statements.import_statements)."""
    entries: List[str] = []
    ext_names: List[str] = []
    for is_from, module, names in statements:
        parts = module.lstrip(".").split(".")
        library = parts[0] in EXTERNAL_MODULES and not module.startswith(".")
        configured_hit = bool(configured and (configured.intersection(parts)
                                              or any(n in configured for n, _ in names)))
        for name, alias in names:
            if is_from:
                local = "" if name == "*" else alias or name
                entries.append(f"{module}|{name}|{local}")
                bound = f"{module}.{name}"
            else:
                local = alias or name.split(".")[0]
                entries.append(f"{name}||{local}")
                bound = name if alias else local  # `import a.b` binds `a`
            if local and (configured_hit or (library and external_import(bound))):
                ext_names.append(local)
    tops = tuple({entry.split("|", 1)[0].split(".", 1)[0] for entry in entries if entry[:1] != "."})
    return entries, tuple(ext_names), tops, " ".join(entries)


# -- what a file hands out: read again only for the files that can -----------------------------
# The names through which a function can meet a session: a session class or factory, an
# engine's factory, an injected dependency (and, per file, the names the index finds).
SESSION_NAMES = (b"Session", b"AsyncSession", b"sessionmaker", b"async_sessionmaker", b"scoped_session",
                 b"async_scoped_session", b"create_engine", b"create_async_engine", b"engine_from_config",
                 b"async_engine_from_config", b"Depends")
MAKER_NAMES = SESSION_NAMES[:6]  # what makes a session (POL203)
SESSION_LIBRARIES = frozenset(["sqlalchemy", "sqlmodel", "fastapi"])
# The words of a module-level statement that can hand out a session or an engine: a
# session class or factory, an engine factory, a dependency or a type alias of one.
HANDS_OUT = (b"Session", b"sessionmaker", b"scoped_session", b"create_engine", b"create_async_engine",
             b"engine_from_config", b"Depends", b"Annotated", b"SQLAlchemy")
# A function (or a class's method) hands one over by returning or yielding it.
HANDS_OVER = (b"return", b"yield")
# A return annotation that names a session class (`-> AsyncSession:`).
_RETURNS_SESSION = re.compile(rb"->[^:\n]*Session\b")
# A name used, not only named: called or an attribute taken (`SessionLocal(`, `engine.connect(`).
_USED = re.compile(rb"\s*[(.]")
_CALLED_AFTER = re.compile(rb"\s*\(")
# What stands before a returned call: `return`, `return await`, a bracket.
_RETURN_BEFORE = re.compile(rb"(?:^|[^\w])return\s+(?:await\s+)?[(\s]*$")
# A Flask-SQLAlchemy instance (`db = SQLAlchemy(...)`) hands out the app context's session,
# which any function of a module that reaches it may be holding, a project helper's doing
# or a model's `query` (SPEC 3c): in such a module every statement that names an external
# call can hold a POL201/POL202 finding, whether it names a session or not.
FLASK_DB = (b"SQLAlchemy",)


class Code:
    """Which words of a statement (statements.Unit) are code, as the tokenizer says:
    its NAME tokens, and its f-strings (whose fields are code: `f"{client.get(url)}"`
    calls out). A word in a plain string or a comment is not."""

    __slots__ = ("names", "fstrings", "_split")

    def __init__(self, unit: Unit):
        self.names, self.fstrings = unit[2], unit[3]
        self._split: Optional[List[bytes]] = None  # the names, one by one (made when first asked)

    def mentions(self, words: Iterable[bytes]) -> bool:
        """Does the code name one of the words as a whole name? (`words` may be a
        frozenset made once for many statements: one set operation at C speed.)"""
        if self._split is None:
            self._split = self.names.split()  # (b" name name ... ": identifiers hold no space)
        found = words if type(words) is frozenset else frozenset(words)
        return not found.isdisjoint(self._split) or (bool(self.fstrings) and any(
            _mentions(text, found) for text in self.fstrings))

    def contains(self, words: Iterable[bytes]) -> bool:
        """Does the code hold one of the words, inside a longer name or not? (No word
        holds a space: one found in the names is inside one of them.)"""
        names = self.names
        return any(word in names for word in words) or any(word in text for word in words for text in self.fstrings)


def module_level(statements: Optional[List[Statement]]
                 ) -> Tuple[List[Tuple[str, Unit]], List[Tuple[str, Unit]]]:
    """(assignments, functions) at module level, as (name, the statement's unit): what a
    statement's assignments bind (every name before an `=` but an attribute's: more than
    they bind, never less; each simple statement of a line: `a = 1; engine = ...`; `a.b =
    ...` binds no `b`), the functions it
    defines. Inside a module-level compound statement (`if`, `try`, `with`, `for`,
    `match`...) each one counts, with the whole statement as its text (more than the
    statement, never less). Classes hand nothing out: a method is not reached through a
    module-level name."""
    assigns: List[Tuple[str, Unit]] = []
    defs: List[Tuple[str, Unit]] = []
    for statement in statements or ():
        if statement[2]:  # (most statements bind no name, or define no function)
            assigns += [(name, statement[0]) for name in statement[2]]
        if statement[3]:
            defs += [(name, statement[0]) for name in statement[3]]
    return assigns, defs


def _mentions(text: bytes, words: Iterable[bytes], noise: Optional[Callable[[int], bool]] = None) -> bool:
    """Does the text hold one of the words as a whole name (where `noise(at)`, if given,
    says the place is no comment or string: Code.mentions)?"""
    for word in words:
        at = text.find(word)
        while at >= 0:
            before = text[at - 1:at] if at else b""
            after = text[at + len(word):at + len(word) + 1]
            if not (before.isalnum() or before == b"_") and not (after.isalnum() or after == b"_") \
                    and (noise is None or not noise(at)):
                return True
            at = text.find(word, at + 1)
    return False


_NOTHING: FrozenSet[str] = frozenset()
_NO_MODULES: Dict[str, Set[str]] = {}


def _used_beyond_imports(data: bytes, facts: FileFacts, words: Iterable[bytes]) -> bool:
    """May a file (its bytes, its facts) name one of the words other than where it
    imports it? Each import entry that binds or takes a word accounts for one of its
    occurrences in the bytes (fewer than the import statements hold, never more): a word
    found no more often than that is named in import statements alone. (An unused import
    inside a function is then not the function's external call, and is none for the
    analysis.)"""
    entries = None
    for word in words:
        found = data.count(word)
        if not found:
            continue
        if entries is None:
            entries = facts.imports
        name = word.decode()
        if found > sum(1 for _, imported, local in entries if imported == name or local == name):
            return True
    return False


def _contains(text: bytes, words: Iterable[bytes]) -> bool:
    return any(word in text for word in words)


def _hands_out(value: Unit, words: Iterable[bytes]) -> bool:
    """Can a module-level statement hand out a session or an engine: its code (not its
    strings or comments) names a session word or one of `words`? Its raw text is asked
    first (which can only say yes more often): most statements name none."""
    text = value[1]
    if not (_contains(text, HANDS_OUT) or _mentions(text, words)):
        return False
    code = Code(value)
    return code.contains(HANDS_OUT) or code.mentions(words)


def _used(text: bytes, words: Iterable[bytes], pattern=None) -> bool:
    """Is one of the words, as a whole name, called or an attribute of it taken (or
    followed by what `pattern` matches)? (In the raw text: it can only say yes more
    often than the code.)"""
    after = (pattern or _USED).match
    for word in words:
        at = text.find(word)
        while at >= 0:
            before = text[at - 1:at] if at else b""
            if not (before.isalnum() or before == b"_") and after(text, at + len(word)):
                return True
            at = text.find(word, at + 1)
    return False


def _hands_over(unit: Unit, makers: Tuple[bytes, ...], known: Tuple[bytes, ...], handing: Tuple[bytes, ...],
                fresh: Tuple[bytes, ...], first: bool) -> bool:
    """Can a function (or a method: its unit) hand out a session, as the analysis finds
    (analysis/sessions.py, handed_out)? It yields where it names a session class or
    factory or one of `known` (the project's session sources it can reach); or it
    returns, and makes one there (a session class or factory, or one of `makers`, the
    module-level names that make one, called), or returns what one of `handing` (the
    project's functions and classes that hand one out, and what is made from them) hands
    out (`return get_session()`, `return await db.session()`), or its return annotation
    names a session class. Only statements that name one of `fresh` can say yes for the
    first time after the `first` question (the others were asked about the rest before)."""
    text = unit[1]
    if not first and not _mentions(text, fresh):
        return False
    returns, yields = b"return" in text, b"yield" in text
    if not (returns or yields):
        return False
    code = Code(unit)
    if yields and code.mentions((b"yield",)) and (code.contains(SESSION_WORDS) or code.mentions(known)):
        return True
    if not (returns and code.mentions((b"return",))):
        return False
    # (Every maker's name, and a return annotation's session class, holds "ession".)
    if first and b"ession" in text and (_used(text, MAKER_NAMES, _CALLED_AFTER) or _RETURNS_SESSION.search(text)):
        return True
    return (_used(text, makers, _CALLED_AFTER) and code.mentions(makers)) \
        or (_returned(text, handing) and code.mentions(handing))


def _returned(text: bytes, words: Iterable[bytes]) -> bool:
    """Does a `return` statement start with one of the words (`return get_session()`,
    `return await db.session()`)? In the raw text: it can only say yes more often."""
    return _mentions(text, words, lambda at: not _RETURN_BEFORE.search(text, max(0, at - 40), at))


# What can stand right before a session maker's name where POL203 cannot report the
# session it makes: a `with` (which closes it), and a `:` or `->` (an annotation, a dict
# value, a lambda's body: no assignment's value, no call's argument).
_NO_POL203_BEFORE = re.compile(rb"(?:\bwith\s+|->\s*|:\s*)\Z")


def _named_where_made(text: bytes, words: Iterable[bytes]) -> bool:
    """Does the raw text name one of the words (a session maker: POL203) other than
    right after a `with` (`with SessionLocal() as s:`, `async with maker() as s:`), a
    `:` or a `->` (`session: AsyncSession`, `-> Session`)? POL203 looks only at a
    session made as an assignment's value or a call's argument: a statement that names
    its makers nowhere else cannot hold one. (In the raw text, strings and comments
    included: it can only say yes more often than the code.)"""
    return _mentions(text, words, lambda at: _NO_POL203_BEFORE.search(text, max(0, at - 24), at) is not None)


def _mentions_in_code(unit: Unit, words: Iterable[bytes]) -> bool:
    """Does the code of a statement (not its strings or comments) name one of `words`?
    The raw text is asked first: most texts name none."""
    return _mentions(unit[1], words) and Code(unit).mentions(words)


def names_in_paths(root: str, files) -> Set[str]:
    """Every folder and module name in the paths of a root's files: the first name of an
    absolute import that can reach a project file is one of them."""
    prefix = root.rstrip(os.sep) + os.sep if root else ""
    found: Set[str] = set()
    for path in files:
        if path.startswith(prefix):
            found.update(path[len(prefix):-3].split(os.sep))
    return found


def project_imports(facts: FileFacts, tops: Set[str]) -> Tuple[list, list]:
    """(imports that may load a project file, (name, local) of the imports under another
    name): all the project index needs of a file's imports, `tops` being the root's
    names_in_paths."""
    candidates, renamed = [], []
    # What each entry gives is remembered per `tops` (a set nobody changes once made): the
    # same entries recur across a project's files.
    known = _PROJECT_IMPORTS.get(id(tops))
    if known is None or known[0] is not tops:
        if len(_PROJECT_IMPORTS) > 8:
            _PROJECT_IMPORTS.clear()
        known = _PROJECT_IMPORTS[id(tops)] = (tops, {})
    memo = known[1]
    for entry in facts[1].split():
        found = memo.get(entry)
        if found is None:
            if len(memo) > 100_000:
                memo.clear()
            module, name, local = parts = tuple(entry.split("|"))
            found = memo[entry] = (parts if module[:1] == "." or module.split(".", 1)[0] in tops else None,
                                   (name, local) if name and local and name != local else None)
        if found[0] is not None:
            candidates.append(found[0])
        if found[1] is not None:
            renamed.append(found[1])
    return candidates, renamed


# id(tops) -> (tops, entry -> (the entry as a candidate or None, (name, local) or None)).
_PROJECT_IMPORTS: Dict[int, Tuple[Set[str], Dict[str, tuple]]] = {}


def left_out_keys(root: str, left_out: Optional[Iterable[str]]) -> FrozenSet[str]:
    """What an import can load of the entries the root's walk left out (runtime.
    python_files: an excluded folder such as `build/` or `venv/`, another project's root,
    a link, an entry it could not list or stat), as module paths: a folder (or a link)
    whose name is an identifier, and `<name>.py` (as `<name>`); a hidden folder,
    `python3.11/` or `prefect-aws/` no import can spell."""
    if not left_out:
        return _NOTHING
    top = os.path.abspath(root) if root else root
    keys = set()
    for path in left_out:
        path = str(path)
        name = os.path.basename(path)
        if name.endswith(".py"):
            name, path = name[:-3], path[:-3]
        if name.isidentifier() and path != top:
            keys.add(path)
    return frozenset(keys)


class ModuleFinder:
    """Which project files an import loads, the way the analysis finds modules
    (project.Project.find_module): from the project root, from `src/`, and from the
    importing file's import root, else from the top of every other package chain; a
    relative import from the importing file's package.
    `files`: the Python files of one project root (what `python_files` lists)."""

    def __init__(self, root: str, files, tops: Optional[Set[str]] = None):
        self.root, self.files = root, files
        self._found: Dict[Tuple[str, str], Set[str]] = {}
        self._roots: Dict[str, str] = {}  # folder -> its import root
        self._imported: Dict[Tuple[str, str, str], tuple] = {}  # (folder or import root, module, name)
        self._beyond: Dict[Tuple[str, str], FrozenSet[str]] = {}  # reaches: (module, name) -> bases
        self._src = os.path.join(root, "src")
        self._tops_of_chains: Optional[Dict[str, Set[str]]] = None  # _chain_tops()
        self._chained: Optional[Dict[str, FrozenSet[str]]] = None  # _in_chains()
        self._bases = (root, self._src)  # where every absolute import is looked for
        self._base_set = frozenset(self._bases)
        self.tops = tops if tops is not None else names_in_paths(root, files)  # what an absolute import can reach

    def resolve(self, path: str, imports) -> tuple:
        """(names, modules, stars, name_files) of a file's imports that may load a project
        file (project_imports): names imported from project modules (local -> original),
        the project files imported as modules (local -> files), the project files
        star-imported, and the files each name was imported from."""
        names, modules, stars, name_files = {}, {}, set(), {}
        folder = os.path.dirname(path)
        base = None  # the folder's import root, once an absolute import asks
        known, tops = self._imported, self.tops
        for module, name, local in imports:  # project_imports: none of a library
            # What `from module import name` loads is the same from every folder of an
            # import root (relative imports aside): asked once per root.
            if module[:1] == ".":
                key = (folder, module, name)
            else:
                if base is None:
                    base = self._import_root(folder)
                key = (base, module, name)
            answer = known.get(key)
            if answer is None:
                # A module whose last name is no folder or module name of the root's files
                # (`tops`) is none of them (most names imported are a class, a function).
                last = module.rpartition(".")[2]
                found = self._find(folder, module, key[0]) if not last or last in tops else _NOTHING
                sub = self._find(folder, module + name if module.endswith(".") else f"{module}.{name}", key[0]) \
                    if name and name != "*" and name in tops else _NOTHING
                answer = known[key] = (found, sub)
            found, sub = answer
            if not name:  # import a.b (as c)
                if found:
                    modules.setdefault(local, set()).update(found)
                continue
            if name == "*":
                stars |= found
                continue
            if sub:
                modules.setdefault(local, set()).update(sub)
            if found:
                names[local] = name
                name_files[local] = found
        return names, modules, stars, name_files

    def _is_package(self, folder: str) -> bool:
        return os.path.join(folder, "__init__.py") in self.files

    def _import_root(self, folder: str) -> str:
        found = self._roots.get(folder)
        if found is None:
            found = folder
            while self._is_package(found) and len(found) > len(self.root):
                found = os.path.dirname(found)
            self._roots[folder] = found
        return found

    def _find(self, folder: str, module: str, base: Optional[str] = None) -> Set[str]:
        """The project files an import of `module` from a file in `folder` can load:
        for an absolute import, the same from every folder of one import root (`base`,
        the folder's, where the caller knows it; the folder for a relative import)."""
        key = (base if base is not None else folder if module[:1] == "." else self._import_root(folder), module)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._find_from(key[0], module)
        return found

    def _find_from(self, folder: str, module: str) -> Set[str]:
        """`_find`, where `folder` is the importing file's folder for a relative import
        and its import root for an absolute one."""
        if module.startswith("."):
            level = len(module) - len(module.lstrip("."))
            for _ in range(level - 1):
                folder = os.path.dirname(folder)
            rest = module[level:]
            base = os.path.join(folder, *rest.split(".")) if rest else folder
            return {c for c in (base + ".py", os.path.join(base, "__init__.py")) if c in self.files}
        # From the root, `src/` and the import root.
        found = self._at_bases(self._bases if folder in self._base_set else self._bases + (folder,), module)
        if not found:  # as project.Project.find_module: the top of every other package chain
            found |= self._in_chains(module)
        return found

    def _in_chains(self, module: str) -> FrozenSet[str]:
        """What `_at(top, module)` finds, over every chain top of the module's first name
        (`_chain_tops`), from one index of the files below those tops: by their path
        below the top (`name/a/b.py`, `name/a/b/__init__.py`)."""
        if self._chained is None:
            index: Dict[str, Set[str]] = {}
            packages = {os.path.join(top, name): top for name, tops in self._chain_tops().items() for top in tops}
            dirname, root = os.path.dirname, self.root
            # Per folder, the chain tops of the packages it is in (itself or a folder
            # above it, up to the root): worked out once per folder, not per file.
            above: Dict[str, tuple] = {}
            for path in self.files:
                stem = path[:-3]
                if stem in packages:  # top/name.py
                    index.setdefault(path[len(packages[stem]) + 1:], set()).add(path)
                folder = dirname(path)
                tops = above.get(folder)
                if tops is None:
                    climbed = []  # the folders up to the first one known (or where the walk stops)
                    tops = ()
                    while folder and folder != root:
                        parent = dirname(folder)
                        if parent == folder:
                            break
                        known = above.get(folder)
                        if known is not None:
                            tops = known
                            break
                        climbed.append(folder)
                        folder = parent
                    for folder in reversed(climbed):
                        top = packages.get(folder)
                        tops = above[folder] = (top,) + tops if top is not None else tops
                    if not climbed:
                        above[dirname(path)] = tops
                for top in tops:
                    index.setdefault(path[len(top) + 1:], set()).add(path)
            self._chained = {rel: frozenset(files) for rel, files in index.items()}
        rel = module.replace(".", os.sep)
        return self._chained.get(rel + ".py", _NOTHING) | self._chained.get(rel + os.sep + "__init__.py", _NOTHING)

    def _chain_tops(self) -> Dict[str, Set[str]]:
        """A top-level package's name -> the folders holding a package of that name at the
        top of its chain (project.Project.chain_tops), the root and `src/` left out."""
        if self._tops_of_chains is None:
            folders = {os.path.dirname(path) for path in self.files if os.path.basename(path) == "__init__.py"}
            tops: Dict[str, Set[str]] = {}
            for folder in folders:
                parent = os.path.dirname(folder)
                if parent not in folders and parent not in (self.root, self._src):
                    tops.setdefault(os.path.basename(folder), set()).add(parent)
            self._tops_of_chains = tops
        return self._tops_of_chains

    def reaches(self, path: str, module: str, name: str, beyond: Dict[str, Set[str]]) -> bool:
        """Can the import of `name` from `module` (`import module`: no name) in the file
        `path` load a module from what the walk left out (`beyond`: per name of a
        left_out_keys entry, the folders holding one)? The analysis loads
        `<base>/<parts>.py` or `<base>/<parts>/...` on disk (project.Project.find_module),
        from the root, `src/`, the importing file's import root and the tops of the package
        chains of the module's first name (a relative import: from the importing file's
        package); so the module, or a package on its way, is such an entry below one of
        those bases. (Found among the walked files first or not: it may be either, which
        only over-selects.)"""
        parts = [part for part in module.lstrip(".").split(".") if part]
        if name and name != "*":
            parts.append(name)
        if module[:1] == ".":
            folder = os.path.dirname(path)
            for _ in range(len(module) - len(module.lstrip(".")) - 1):
                folder = os.path.dirname(folder)
            return any(os.path.join(folder, *parts[:k]) in beyond.get(part, ()) for k, part in enumerate(parts))
        # The bases from which the module would pass an entry: the same from every file.
        key = (module, name)
        wanted = self._beyond.get(key)
        if wanted is None:
            sep, found = os.sep, set()
            for k, part in enumerate(parts):
                inside = sep.join(parts[:k])  # the entry is <base>/<inside>/<part>
                for parent in beyond.get(part, ()):
                    if not k:
                        found.add(parent)
                    elif parent == inside:
                        found.add("")
                    elif parent.endswith(sep + inside):
                        found.add(parent[:-len(inside) - 1])
            wanted = self._beyond[key] = frozenset(found)
        if not wanted:
            return False
        return bool(wanted.intersection(self._bases) or self._import_root(os.path.dirname(path)) in wanted
                    or wanted.intersection(self._chain_tops().get(parts[0], ())))


    def _at(self, base: str, module: str) -> Set[str]:
        """The files `module` names from the import root `base` (_at_bases)."""
        return self._at_bases((base,), module)

    def _at_bases(self, bases: Sequence[str], module: str) -> Set[str]:
        """The root's files `module` names from any of the import roots `bases`:
        `<base>/<module>.py` and `<base>/<module>/__init__.py` (most modules asked are
        asked once, from one import root, and found nowhere: nothing is remembered)."""
        sep, files = os.sep, self.files
        target = module.replace(".", sep)
        found = set()
        for base in bases:
            stem = (base if base.endswith(sep) else base + sep) + target if base else target
            if stem + ".py" in files:
                found.add(stem + ".py")
            if stem + sep + "__init__.py" in files:
                found.add(stem + sep + "__init__.py")
        return found


class Index:
    """The project index of one root: which files can hold a finding.

    Imports are resolved to the project's own files the way the analysis finds modules
    (project.Project.find_module): from the project root, from `src/`, and from the
    importing file's import root, else from the top of every other package chain; a
    relative import from the importing file's package.
    A name imported from a project module is matched by its bare name wherever it is
    defined (re-exports); a module imported is matched by its file."""

    def __init__(self, facts: Dict[str, FileFacts], read: Callable[[str], Optional[bytes]],
                 families: FrozenSet[str] = frozenset(["engine", "async", "external", "create", "tasks"]),
                 root: Optional[str] = None, configured: FrozenSet[str] = frozenset(), check_tests: bool = True,
                 statements: Optional[Dict[str, List[Statement]]] = None, tops: Optional[Set[str]] = None,
                 imports: Optional[Dict[str, Tuple[list, list]]] = None,
                 parts: Optional[Dict[str, tuple]] = None, finder: Optional["ModuleFinder"] = None,
                 resolved: Optional[Dict[str, tuple]] = None, left_out: Optional[Iterable[str]] = None,
                 deferred=None):
        self.facts = facts
        self.check_tests = check_tests  # False: the engine and session rules are silent in test code (SPEC 3)
        self.made: Dict[str, Set[str]] = {}  # per file, its module-level names that hand out a session or engine
        self.made_names: Set[str] = set()  # all of them (session_names finds them)
        # Per file, its functions and classes that hand out a session and what is made from
        # them (`db = Database(url)`); all of them.
        self.handing: Dict[str, Set[str]] = {}
        self.handing_names: Set[str] = set()
        self.configured = tuple(sorted(word.encode() for word in configured))  # external_words of the settings
        self.read = read
        self.families = families
        self.root = root if root is not None else os.path.commonpath(list(facts)) if facts else ""
        self._read: Dict[str, tuple] = dict(parts or {})  # module_level, per file
        self._split: Dict[str, Optional[List[Statement]]] = dict(statements or {})  # statements.layout, per file
        self.laid_out: Dict[str, bytes] = {}  # the bytes of the files laid out here (_lay_out)
        # Layouts made elsewhere meanwhile (stages.Deferred: `paths`, and `take()` waits
        # for them), taken when one of them is first asked for.
        self._deferred = deferred
        self._class_units: Dict[str, List[Tuple[str, List[Unit]]]] = {}  # _classes, per file
        self._external_imports: Optional[Dict[str, Set[str]]] = None
        # `finder`, `resolved`: a ModuleFinder of these files, and what it resolved of
        # some of their imports already (the runner does it while the scan goes on).
        finder = finder or ModuleFinder(self.root, facts, tops)
        imports, resolved = imports or {}, resolved or {}
        # Per file: names imported from project modules (local -> original), the project
        # files imported as modules (local -> files), the project files star-imported.
        self.names: Dict[str, Dict[str, str]] = {}
        self.modules: Dict[str, Dict[str, Set[str]]] = {}
        self.stars: Dict[str, Set[str]] = {}
        self.name_users: Dict[str, Set[str]] = {}
        self.name_files: Dict[str, Dict[str, Set[str]]] = {}  # per file: local name -> the files it comes from
        self.importers: Dict[str, Set[str]] = {}  # per file: the files that import from it
        self.file_users: Dict[str, Set[str]] = {}
        pairs: List[Tuple[str, str]] = []
        self._unlinked: Set[str] = set()  # the files no import of which may load a project file
        for path, f in facts.items():
            found = imports.get(path)
            candidates, renamed = found if found is not None else project_imports(f, finder.tops)
            pairs += renamed
            if not candidates:
                self._unlinked.add(path)
            known = resolved.get(path)
            names, modules, stars, name_files = known if known is not None else finder.resolve(path, candidates)
            self.names[path], self.modules[path], self.stars[path] = names, modules, stars
            self.name_files[path] = name_files
            for files in (*name_files.values(), *modules.values(), stars):
                for target in files:
                    self.importers.setdefault(target, set()).add(path)
            for name in names.values():
                self.name_users.setdefault(name, set()).add(path)
            for files in (*modules.values(), stars):
                for target in files:
                    self.file_users.setdefault(target, set()).add(path)
        self._module_reexports()
        self._left_out(finder, left_out_keys(self.root, left_out))
        self.bits = self._alias_bits(pairs)
        self._tests: FrozenSet[str] = frozenset()  # (_needed) the test code among the files, where no rule fires in it
        self.needed = self._needed()
        self._read_again(configured)
        self.flask_objects: Set[str] = set()  # session_names: the Flask-SQLAlchemy instances among its objects
        self.flask_providers: Dict[str, Set[str]] = {}
        # Other names of a session class or factory, of an engine factory or of `Depends`
        # (`as` imports and their re-exports, anywhere in the project), and of a task call.
        # A name imported under another name counts only through these: a project's own
        # names reach a file through what it imports from the project (`_mentioned`).
        self.carrying = tuple(sorted(name.encode() for name, bits in self.carried.items()
                                     if bits & (SESSION | ENGINE | DEPENDS) and name not in NAME_BITS))
        self.task_carrying = tuple(sorted(name.encode() for name, bits in self.carried.items()
                                          if bits & TASKS and name not in NAME_BITS))

    # -- modules bound by name in other modules -----------------------------------------------
    def _module_reexports(self) -> None:
        """A module bound by name in another module (`from lib import base` in
        lib/factories.py) is that module wherever it is imported from there (`from
        lib.factories import base`, or a star import of lib/factories.py): the importer
        reaches its attributes (`base.SessionLocal()`) as if it imported it itself, so it
        takes it whole (`modules`, `file_users`), through any chain of such bindings."""
        queue = [path for path in self.facts if self.names[path] or self.stars[path]]
        while queue:
            path = queue.pop()
            added = False
            for local, name in self.names[path].items():
                for source in self.name_files[path].get(local, ()):
                    files = self.modules.get(source, _NO_MODULES).get(name)
                    if files:
                        added |= self._bind_module(path, local, files)
            for source in self.stars[path]:
                for local, files in self.modules.get(source, _NO_MODULES).items():
                    added |= self._bind_module(path, local, files)
            if added:  # (what binds it by name or by star from this file binds it too)
                queue += self.importers.get(path, ())

    def _bind_module(self, path: str, local: str, files: Set[str]) -> bool:
        """`path` takes `files` whole under `local`; has it taken one more?"""
        modules = self.modules[path]
        new = files - modules.get(local, _NOTHING)
        if not new:
            return False
        self.modules[path] = modules = {**modules, local: modules.get(local, set()) | new}  # (the scan's own dict stays)
        for target in new:
            self.file_users.setdefault(target, set()).add(path)
            self.importers.setdefault(target, set()).add(path)
        return True

    # -- what the walk left out ---------------------------------------------------------------
    def _left_out(self, finder: "ModuleFinder", keys: FrozenSet[str]) -> None:
        """The names a file imports from a module the index cannot read: one that may be
        loaded from what the root's walk left out (`keys`: left_out_keys; `build/ext.py`
        for `from build.ext import db`), which the analysis loads from disk all the same.
        Such a name may be anything: a session class or factory, an engine, a
        Flask-SQLAlchemy instance, a client or a function that calls out, a task function
        (`unknown`, per file: its local names, a module imported whole included). What
        the screen finds for a name it reads, it assumes of these: the file and every
        file that imports the name by name carry every word (`_alias_bits`), the name is
        a session source, a maker, an external name and a Flask-SQLAlchemy instance of
        the file (session_names, external_imports). A star import of such a module, and
        of a file that holds one (`wild`), may bind any name: every line of the file may
        hold any finding, and what its importers take from it is unknown too. Nothing
        left out that an import can spell: nothing to do (most trees; one substring test
        per file where something is)."""
        self.unknown: Dict[str, Set[str]] = {}
        # A file whose names may be spelled otherwise than Python reads them (COMPAT) is
        # read no better than one left out: it may hold anything anywhere.
        self.wild: Set[str] = {path for path, f in self.facts.items() if f[0] & COMPAT}
        if not keys:
            self._spread_wild()
            return
        beyond: Dict[str, Set[str]] = {}  # (ModuleFinder.reaches) a name -> the folders holding one
        for key in keys:
            parent, name = os.path.split(key)
            beyond.setdefault(name, set()).add(parent)
        # An entry of a file's imports (FileFacts) is asked only where it names one of them
        # as it must to reach it: first (from a base), after the name of a folder holding
        # one, or anywhere in a relative import.
        after = {name: {os.path.basename(parent) for parent in parents} for name, parents in beyond.items()}
        for path, f in self.facts.items():
            entries = f[1]
            if not entries:
                continue
            asked = set()
            for word, folders in after.items():
                at = entries.find(word)
                while at >= 0:
                    end = at + len(word)
                    if entries[end:end + 1] in (".", "|"):
                        start = entries.rfind(" ", 0, at) + 1
                        if at == start or entries[start] == "." or (entries[at - 1] in ".|" and entries[
                                max(entries.rfind(".", start, at - 1), entries.rfind("|", start, at - 1), start - 1)
                                + 1:at - 1] in folders):
                            stop = entries.find(" ", end)
                            asked.add(entries[start:stop if stop >= 0 else len(entries)])
                    at = entries.find(word, end)
            for entry in asked:
                module, name, local = entry.split("|")
                if finder.reaches(path, module, name, beyond):
                    if local:
                        self.unknown.setdefault(path, set()).add(local)
                    else:
                        self.wild.add(path)
        self._spread_wild()

    def _spread_wild(self) -> None:
        """What a file takes from a wild one is unknown; a star import of one is wild."""
        queue = sorted(self.wild)
        while queue:
            source = queue.pop()
            for user in self.importers.get(source, ()):
                taken = {local for local, files in self.name_files[user].items() if source in files}
                taken |= {local for local, files in self.modules[user].items() if source in files}
                if taken:
                    self.unknown.setdefault(user, set()).update(taken)
                if source in self.stars[user] and user not in self.wild:
                    self.wild.add(user)
                    queue.append(user)

    # -- the files whose statements can matter ------------------------------------------------
    def _needed(self) -> Optional[Set[str]]:
        """The files whose statements the fixed points below read (None: every file).
        Where no rule fires in test code (`check_tests` False), a test file matters only
        if a file outside test code imports from it, directly or through other files: what
        the index learns of a file flows only to the files that import from it (its
        importers, `_users`), and the analysis of a file reads only the modules it
        imports. So the files that matter are those outside test code and every file they
        import, transitively; the rest of the test code (most of it: test modules and
        fixtures that nothing outside the tests imports) is neither laid out nor asked
        (the scan does not lay out test code either: tasks._scan). A test file that does
        matter is laid out here, when first asked (`_statements_of`)."""
        if self.check_tests:
            return None
        self._tests = tests = test_files(self.facts, self.root)
        if not tests:
            return None
        return self._with_imports(path for path in self.facts if path not in tests)

    def _read_again(self, configured: FrozenSet[str]) -> None:
        """The files that matter whose own words the scan did not look for (UNREAD: test
        code that code outside the tests imports from), read again in full: their facts
        and bits as for any other file (their imports, read then, stay)."""
        for path in (self.needed if self.needed is not None else self.facts):
            old = self.facts[path]
            if not old[0] & UNREAD:
                continue
            data = self.read(path)
            if data is None:
                continue
            bits = facts_and_tops(data, configured)[0][0] | (old[0] & ~UNREAD)
            self.facts[path] = FileFacts(bits, old[1], old[2])
            self.bits[path] = self._with_carried(path, bits) | (self.bits[path] & ~UNREAD)

    def _with_imports(self, files: Iterable[str]) -> Set[str]:
        """The files and every project file they import, directly or through others
        (by name, whole or by star): all the index can learn that reaches them."""
        found = set(files)
        queue = list(found)
        while queue:
            path = queue.pop()
            for files_of in (*self.name_files[path].values(), *self.modules[path].values(), self.stars[path]):
                for target in files_of:
                    if target not in found:
                        found.add(target)
                        queue.append(target)
        return found

    # -- names imported under another name ---------------------------------------------------
    def _alias_bits(self, pairs) -> Dict[str, int]:
        carried = dict(NAME_BITS)
        for names in self.unknown.values():  # (_left_out) may be anything
            for name in names:
                carried[name] = carried.get(name, 0) | ANYTHING
        changed = True
        while changed:
            changed = False
            for name, alias in pairs:
                bits = carried.get(name, 0)
                if bits and carried.get(alias, 0) | bits != carried.get(alias, 0):
                    carried[alias] = carried.get(alias, 0) | bits
                    changed = True
        self.carried = carried
        out = {path: self._with_carried(path, f.bits) for path, f in self.facts.items()}
        for path in (*self.unknown, *self.wild):
            out[path] |= ANYTHING
        return out

    def _with_carried(self, path: str, bits: int) -> int:
        """A file's bits with those its names imported under another name carry, less
        its session words' where they can name no SQLAlchemy session (closed_off)."""
        carried = self.carried
        for local in self.names[path]:
            if local not in NAME_BITS:
                bits |= carried.get(local, 0)
        if bits & SESSION_BITS and path in self._unlinked and closed_off(bits, self.facts[path][1], ()):
            bits &= ~SESSION_BITS
        return bits

    # -- names through which the project hands out sessions, engines, clients, calls --------
    def _parts(self, path: str):
        """(assignments, functions) at module level of a file, read once."""
        found = self._read.get(path)
        if found is None:
            found = self._read[path] = module_level(self._statements_of(path))
        return found

    def _classes(self, path: str) -> List[Tuple[str, List[Unit]]]:
        """(name, the units of its members) of the module-level classes of a file: its
        head (`class C(Base):`, decorators and docstring) first (made once per file)."""
        found = self._class_units.get(path)
        if found is None:
            found = self._class_units[path] = [
                (statement[5], members_of(statement) or [statement[0]]) for statement in self._statements_of(path) or ()
                if statement[1] == "class" and statement[5]]
        return found

    def _statements_of(self, path: str) -> Optional[List[Statement]]:
        """The module-level statements of a file (read once: statements.layout), or None
        if it cannot be read, decoded or tokenized."""
        if path not in self._split and not self._undefer(path):
            data = self.read(path)
            self._split[path] = self._lay_out(path, data)
        return self._split[path]

    def _lay_out(self, path: str, data: Optional[bytes]) -> Optional[List[Statement]]:
        """statements.layout of a file's bytes, read here (None if unread); the bytes
        are kept (`laid_out`)."""
        if data is None:
            return None
        self.laid_out[path] = data
        return layout(data)

    def imported_layouts(self) -> Iterable[Tuple[str, List[Statement], bytes]]:
        """(path, layout, the bytes) of each file laid out here so far that another file
        imports (what an analysis may load)."""
        importers, split = self.importers, self._split
        for path, data in self.laid_out.items():
            statements = split.get(path)
            if statements is not None and path in importers:
                yield path, statements, data

    def layout_of(self, path: str) -> Optional[Tuple[bytes, List[Statement]]]:
        """(the bytes, their layout) of a file the index laid out itself, or None: the
        analysis of the file need not tokenize them again (stages.index_root)."""
        data, statements = self.laid_out.get(path), self._split.get(path)
        return (data, statements) if data is not None and statements is not None else None

    def _undefer(self, path: str) -> bool:
        """Is `path` among the layouts made elsewhere (`deferred`)? Then all of them are
        taken into `_split`."""
        deferred = self._deferred
        if deferred is None or path not in deferred.paths:
            return False
        for other, statements in deferred.take().items():
            self._split.setdefault(other, statements)
        self._deferred = None
        return path in self._split

    def _reexported(self, path: str, names: Set[str], provided: Dict[str, Set[str]]) -> Set[str]:
        """Those of `names` that `path` binds at module level by importing them: by name
        (its local name), or by a star import (what that module provides, `provided` per
        file). A file that imports `path` whole reaches them as its attributes
        (`from app import api` then `api.fetch()`, where app/api.py holds `from app.http
        import fetch`): they are the file's own to hand out."""
        out = {alias for alias, name in self.names[path].items() if name in names}
        for target in self.stars[path]:
            out |= provided.get(target, set())
        return out

    def _mentioned(self, path: str, names: Set[str], provided: Dict[str, Set[str]]) -> Set[str]:
        """The names through which `path` may reach one of `names`: imported by name (its
        local name), or an attribute of a module it imports, or a star import (the names
        that module hands out, `provided` per file)."""
        local = self._reexported(path, names, provided)
        for files in self.modules[path].values():
            for target in files:
                local |= provided.get(target, set())
        return local

    def _users(self, names: Iterable[str], path: str, within: Optional[Set[str]] = None) -> Set[str]:
        """The files that may take one of `names` (or `path` whole): those that matter
        (and are `within`, if given)."""
        users = set(self.file_users.get(path, ()))
        for name in names:
            users |= self.name_users.get(name, set())
        if self.needed is not None:
            users &= self.needed
        return users if within is None else users & within

    def session_names(self) -> Tuple[Set[str], Set[str], Dict[str, Set[str]]]:
        """(sources, objects, provided): the files that can meet a session; the
        module-level names through which the project hands one out (a factory, an engine,
        a session type alias); per file, those it defines. Under `Depends`, any function
        of a source file may be a dependency that hands one out."""
        objects: Set[str] = set()
        providers: Dict[str, Set[str]] = {}
        self.flask_objects: Set[str] = set()  # the names of those that are Flask-SQLAlchemy instances
        self.flask_providers: Dict[str, Set[str]] = {}
        dependencies: Set[str] = set()
        dep_files: Set[str] = set()
        needed = self.needed
        sources = {path for path, bits in self.bits.items() if bits & (SESSION | ENGINE)
                   and (needed is None or path in needed)}
        carrying = self.carrying
        queue = sorted(sources)
        queued = set(queue)  # (in the queue: a file queued twice is asked once, when it is popped)
        done: Dict[str, FrozenSet[str]] = {}
        # What a file mentions (`_mentioned`) changes only when a name it imports becomes
        # an object or a file it imports whole (or by star) provides one more: a file
        # visited again with neither is skipped without asking.
        visited: Set[str] = set()
        changed: Set[str] = set()
        made_anywhere: Set[str] = set().union(*self.made.values())  # every file's `made`
        while queue:
            path = queue.pop()
            queued.discard(path)
            if path in visited and path not in changed:
                continue
            visited.add(path)
            changed.discard(path)
            # What this file's questions depend on, from what it imports: the objects, the
            # makers and the functions that hand one out, the Flask-SQLAlchemy instances it
            # reaches. Asked again only when one of them grew.
            mentioned = frozenset(self._mentioned(path, objects, providers))
            made_seen = frozenset(self._mentioned(path, made_anywhere, self.made)) if made_anywhere else _NOTHING
            handing_seen = frozenset(self._mentioned(path, self.handing_names, self.handing)) \
                if self.handing_names else _NOTHING
            flask_seen = frozenset(self._mentioned(path, self.flask_objects, self.flask_providers)) \
                if self.flask_objects else _NOTHING
            key = (mentioned, made_seen, handing_seen, flask_seen)
            if done.get(path) == key:
                continue
            done[path] = key
            had = (set(self.made.get(path, ())), set(self.handing.get(path, ())), set(self.flask_providers.get(path, ())))
            known_before = (set(made_anywhere), set(self.handing_names), set(self.flask_objects))
            values, defs = self._parts(path)
            words = carrying + tuple(name.encode() for name in mentioned)
            # New to this file, not to the project: files of one project may define the
            # same name, and each file hands out its own (a name found in another file
            # first must still be this file's, and reach this file's importers).
            own = providers.get(path, set())
            new_objects = {name for name, value in values if _hands_out(value, words)} - own
            unknown = self.unknown.get(path, _NOTHING) - own  # (_left_out) may hand out anything
            new_objects |= unknown
            new_objects |= self._reexported(path, objects, providers) - own  # (attributes of this module)
            # A function that returns or yields a session (and a class with such a
            # method) is a session source wherever it is used (SPEC 3b); so is what is
            # made from one in this file (`db = Database(url)`): to a fixed point, each
            # statement asked only about the names it was not asked about before.
            classes = self._classes(path)
            functions = [(name, [unit]) for name, unit in defs] + classes
            fresh = words + tuple(name.encode() for name in sorted(own | new_objects))
            known: Tuple[bytes, ...] = ()
            makers = carrying + tuple(name.encode() for name in sorted(
                made_seen | self.made.get(path, set()) | {name for name, _ in values} & new_objects))
            handing_names = handing_seen | self.handing.get(path, set())
            handing = tuple(name.encode() for name in sorted(handing_names))
            first = True
            while functions and (first or fresh):
                known += fresh
                found = {name for name, units in functions if name not in new_objects and name not in own
                         and any(_hands_over(unit, makers, known, handing, fresh, first) for unit in units)}
                # A subclass of one (its head names it) inherits the method.
                found |= {name for name, units in classes if name not in new_objects and name not in own
                          and fresh and _mentions_in_code(units[0], fresh)}
                named = tuple(name.encode() for name in sorted(found))
                found |= {name for name, value in values if name not in new_objects and name not in own
                          and _mentions(value[1], named) and _hands_out(value, named)}
                new_objects |= found
                fresh, first = tuple(name.encode() for name in sorted(found)), False
                handing += fresh
                if found:
                    self.handing.setdefault(path, set()).update(found)
                    self.handing_names |= found
            made = {name for name, _ in values} & new_objects | unknown
            if made_anywhere:
                made |= self._reexported(path, made_anywhere, self.made)
            handed = self._reexported(path, self.handing_names, self.handing) if self.handing_names else set()
            if handed:
                self.handing.setdefault(path, set()).update(handed)
                self.handing_names |= handed
            if made:  # what can make a session (POL203): module-level values, not functions
                self.made.setdefault(path, set()).update(made)
                made_anywhere |= made
            flask_words = FLASK_DB + tuple(name.encode() for name in flask_seen)
            flask = {name for name, value in values if name in new_objects and _mentions_in_code(value, flask_words)}
            flask |= unknown
            if self.flask_objects:
                flask |= self._reexported(path, self.flask_objects, self.flask_providers)
            if flask:
                self.flask_objects |= flask
                self.flask_providers.setdefault(path, set()).update(flask)
            # What this file hands out now that it did not: objects, makers, functions that
            # hand one out, Flask-SQLAlchemy instances (each a question of its importers).
            grown = (self.made.get(path, set()) - had[0]) | (self.handing.get(path, set()) - had[1]) \
                | (self.flask_providers.get(path, set()) - had[2])
            if new_objects or grown:
                # Whose questions this can change: the importers of a name that no file
                # handed out as such yet (by name: `_mentioned` goes by the bare name), and
                # the files importing this one whole or by star (by what it provides).
                changed.update(self.file_users.get(path, ()))
                for name in (new_objects - objects) | (made_anywhere - known_before[0]) \
                        | (self.handing_names - known_before[1]) | (self.flask_objects - known_before[2]):
                    changed.update(self.name_users.get(name, ()))
                objects |= new_objects
                providers.setdefault(path, set()).update(new_objects)
                users = self._users(new_objects | grown, path)
                sources |= users
                # (Queued: a file not asked yet, or asked before and changed since; one
                # asked already and not changed would be skipped, and is queued again when
                # it changes, as here.)
                fresh = [user for user in users if (user not in visited or user in changed) and user not in queued]
                queued.update(fresh)
                queue += fresh
            new_deps = {name for name, _ in defs} - dependencies
            dependencies |= new_deps
            if path not in dep_files:
                dep_files.add(path)
                new_users = self._users(new_deps, path)
            else:
                new_users = self._users(new_deps, "")
            for user in new_users:
                if self.bits[user] & DEPENDS and user not in sources:
                    sources.add(user)
                    if user not in queued:
                        queued.add(user)
                        queue.append(user)
        return sources, objects, providers

    def external_names(self, within: Optional[Set[str]] = None) -> Tuple[Set[str], Dict[str, Set[str]]]:
        """(names, provided): project functions and module-level clients that
        (transitively) make an external call; per file, those it defines. A file is
        visited again when a name it may reach becomes external; each of its statements is
        then asked only about the words it was not asked about before (what a statement
        names does not change: the fixed point grows with the words, never shrinks).
        `within`: only these files are visited (select asks for the files the session
        sources import, directly or through others: what no source reaches cannot give
        it a call out)."""
        names: Set[str] = set()
        providers: Dict[str, Set[str]] = {}
        reexports = self.external_imports()
        queue = sorted(path for path in reexports if (self.needed is None or path in self.needed)
                       and (within is None or path in within))
        asked: Dict[str, Set[bytes]] = {}  # per file, the words its statements were asked about
        while queue:
            path = queue.pop()
            words = {name.encode() for name in reexports.get(path, set()) | self._mentioned(path, names, providers)}
            seen = asked.setdefault(path, set())
            fresh = words - seen
            if not fresh:
                continue
            seen |= fresh
            # What it imports by name (or by star) is an attribute of it too (`api.fetch()`).
            reexported = self._reexported(path, names, providers) - providers.get(path, set())
            if reexported:
                names |= reexported
                providers.setdefault(path, set()).update(reexported)
                queue.extend(self._users(reexported, path, within))
            if path not in self._read:
                data = self.read(path) if path not in self._split and not self._undefer(path) else None
                if data is not None and not _used_beyond_imports(data, self.facts[path], fresh):
                    continue  # no statement of it names one: no need to split it
                if path not in self._split:
                    self._split[path] = self._lay_out(path, data)
            values, defs = self._parts(path)
            found = providers.get(path, set())
            new_names: Set[str] = set()
            while fresh:  # a function calling one of this file's own external functions
                current = tuple(fresh)
                new = {name for name, body in defs if name not in found and name not in new_names
                       and _mentions_in_code(body, current)}
                new |= {name for name, value in values if name not in found and name not in new_names
                        and _mentions_in_code(value, current)}
                new_names |= new
                fresh = {name.encode() for name in new} - seen
                seen |= fresh
            if new_names:
                names |= new_names
                providers.setdefault(path, set()).update(new_names)
                queue.extend(self._users(new_names, path, within))
        return names, providers

    def external_imports(self) -> Dict[str, Set[str]]:
        """Per file, its names bound to a client or an external function of a library:
        imported from the library itself, or from a project module that imports it
        (`from app.http import Client` where app/http.py imports httpx's AsyncClient as
        Client), by name, by star, or as an attribute of a module imported whole."""
        if self._external_imports is not None:
            return self._external_imports
        out = {path: set(f.ext_names) for path, f in self.facts.items() if f.ext_names}
        for path, names in self.unknown.items():  # (_left_out) may call out
            out.setdefault(path, set()).update(names)
        queue = sorted(out)
        while queue:
            source = queue.pop()
            handed = out[source]
            for user in self.importers.get(source, ()):
                found = {local for local, files in self.name_files[user].items()
                         if source in files and self.names[user][local] in handed}
                if source in self.stars[user] or any(source in files for files in self.modules[user].values()):
                    found |= handed
                new = found - out.get(user, set())
                if new:
                    out.setdefault(user, set()).update(new)
                    queue.append(user)
        self._external_imports = out
        return out

    def _uses_external_import(self, path: str) -> bool:
        """Does the file's code name one of its external imports from project modules
        (`Client`, or `http.Client` through a module imported whole)?"""
        names = self.external_imports().get(path)
        if not names:
            return False
        words = tuple(name.encode() for name in sorted(names))
        statements = self._statements_of(path)
        if statements is None:  # it does not tokenize: anything may be code
            data = self.read(path)
            return data is not None and _mentions(data, words)
        return any(_mentions_in_code(statement[0], words) for statement in statements)

    # -- the verdict ------------------------------------------------------------------------
    def select(self, on_final: Optional[Callable[[str, tuple], None]] = None) -> Set[str]:
        """The files that can hold a finding. For each, `hints[path]` also says what can
        fire there: whether the engine rules and POL204 can, and per session family
        ("external", "create", "tasks") the line ranges of the module-level statements
        that can hold one of its findings (see `_session_units`). `on_final(path, hint)`
        is told of each file chosen for a session rule as soon as its hint is final (the
        others are final when `select` returns)."""
        families = self.families
        chosen = set()
        self.hints: Dict[str, tuple] = {}
        for path, bits in self.bits.items():
            engine, async_ = self._by_own_words(path, bits, families, self.root, self.check_tests)
            if engine or async_:
                chosen.add(path)
                self.hints[path] = (engine, async_, (), (), ())
        if not families & set(SESSION_FAMILIES):
            return chosen
        sources, objects, object_files = self.session_names()
        # Only what a session source imports, directly or through others, can give it a
        # call out: the external calls' fixed point looks no further.
        external, external_files = self.external_names(self._with_imports(sources)) \
            if "external" in families else (set(), {})
        made = self.made_names = {name for names in self.made.values() for name in names}
        for path in sources:
            if not self.check_tests and path in self._tests:
                continue  # no session rule fires in test code (SPEC 3, file roles)
            bits = self.bits[path]
            calls_out = "external" in families and bool(
                bits & EXT or self._uses_external_import(path) or self._mentioned(path, external, external_files))
            creates = "create" in families and bool(bits & CREATE or self._mentioned(path, made, self.made))
            tasks = "tasks" in families and bool(bits & TASKS)
            if not (calls_out or creates or tasks):
                continue
            units = self._session_units(path, calls_out, creates, tasks, objects, object_files, external,
                                        external_files)
            if any(units):
                chosen.add(path)
                self.hints[path] = self.hints.get(path, NOTHING_FIRES)[:2] + units
                if on_final is not None:
                    on_final(path, self.hints[path])
        return chosen

    def hint(self, path: str) -> tuple:
        """What can fire in a chosen file: (the engine rules?, POL204?, then per session
        family the line ranges where its rules can)."""
        return self.hints.get(path, NOTHING_FIRES)

    def plan(self, path: str) -> Plan:
        """The plan of a chosen file (plan.Plan): its hint, field by field."""
        return Plan(*self.hint(path))

    def may_build_engines(self, paths: Iterable[str]) -> bool:
        """Can one of the files (chosen ones) build an engine: is the runtime verdict
        worth making for the root?"""
        return any(self.bits[path] & ENGINE for path in paths)

    @staticmethod
    def _by_own_words(path: str, bits: int, families: FrozenSet[str], root: str, check_tests: bool
                      ) -> Tuple[bool, bool]:
        """(the engine rules?, POL204?) by a file's bits, outside test code (unless
        `check_tests`): an engine factory named, an async session maker or class named."""
        engine, async_ = "engine" in families and bool(bits & ENGINE), "async" in families and bool(bits & ASYNC)
        if (engine or async_) and not check_tests and is_test_code(path, root):
            return False, False
        return engine, async_

    @staticmethod
    def plan_before(path: str, bits: int, families: FrozenSet[str], root: str, check_tests: bool
                    ) -> Optional[Plan]:
        """The plan of a file that its own bytes choose (`bits`: its FileFacts.bits), made
        before the index, or None: `select` keeps every file outside test code (unless
        `check_tests`) whose own words name an engine factory or an async session maker.
        The plan can only be wider than the one the index makes (names imported under
        another name may add to what the file holds): the engine rules and POL204
        wherever their families are enabled, every session family anywhere."""
        engine, async_ = Index._by_own_words(path, bits, families, root, check_tests)
        if not (engine or async_):
            return None  # (in test code, unless `check_tests`, no rule of a plan fires)
        return Plan("engine" in families, "async" in families, EVERYWHERE, EVERYWHERE, EVERYWHERE)

    def _session_units(self, path: str, calls_out: bool, creates: bool, tasks: bool, objects, object_files,
                       external, external_files) -> Tuple[Tuple[Tuple[int, int], ...], ...]:
        """Per session family, the (first, last) lines of the module-level statements of
        the file (a function with all it holds; a class's members one by one) that can
        hold one of its findings. Every session rule looks inside one function: POL201/POL202 need a
        session there (a parameter annotated or injected as one, or one made or opened
        there: a session word) and an external call's name; POL205 a session word and a
        task word; POL203 a session made (a session class or factory named). Strings and
        comments are not code."""
        statements = self._statements_of(path) if path not in self.wild else None  # (wild: any name, anywhere)
        if statements is None:
            return ((ALL_LINES,) if calls_out else (), (ALL_LINES,) if creates else (), (ALL_LINES,) if tasks else ())
        project_names = self.carrying + tuple(
            name.encode() for name in self._mentioned(path, objects, object_files) | object_files.get(path, set()))
        # A session class, factory or `Depends` is reached through an import: of the
        # library itself, or of a project module (that may re-export it).
        library = bool(self.bits[path] & DB or self.facts[path].top_modules & SESSION_LIBRARIES
                       or self.names[path] or self.modules[path] or self.stars[path] or path in self.unknown)
        session_words = (SESSION_NAMES if library else ()) + project_names
        # What makes a session (POL203): a module-level name, not a function that hands one out.
        makers = (MAKER_NAMES if library else ()) + self.carrying + tuple(
            name.encode() for name in self._mentioned(path, self.made_names, self.made) | self.made.get(path, set()))
        calls = self.configured + tuple(name.encode() for name in (
            self.external_imports().get(path, set()) | self._mentioned(path, external, external_files)
            | external_files.get(path, set()))) if calls_out else ()
        task_words = TASK_WORDS + self.task_carrying if tasks else ()
        classes = frozenset(object_files.get(path, set()) & {name for name, _ in self._classes(path)})
        flask = calls_out and bool(self.flask_providers.get(path)
                                   or self._mentioned(path, self.flask_objects, self.flask_providers))
        return session_units(statements, session_words, makers if creates else (), calls, task_words, flask, classes)


def _function_units(statements: List[Statement], wanted: Callable[[Unit], bool]) -> Iterable[Unit]:
    """The module-level statements (their units) that `wanted` accepts, a class's
    members apart (each asked on its own): a session rule looks inside one function, and
    a method's session and calls are the method's own (the analysis follows no `self.`
    attribute)."""
    for statement in statements:
        unit = statement[0]
        if wanted(unit):
            members = members_of(statement)
            if members is None:
                yield unit
            else:
                yield from (member for member in members if wanted(member))


def session_units(statements: List[Statement], session_words: Tuple[bytes, ...], makers: Tuple[bytes, ...],
                  calls: Tuple[bytes, ...], task_words: Tuple[bytes, ...], flask: bool = False,
                  source_classes: FrozenSet[str] = frozenset()) -> Tuple[Tuple[Tuple[int, int], ...], ...]:
    """Per session family ("external", "create", "tasks"), the (first, last) lines of the
    statements (statements.layout) whose code names a session word and a call's name, a
    session maker, or a session word and a task word. Fewer words: fewer statements.
    `flask`: the module reaches a Flask-SQLAlchemy instance, and a call's name is enough.
    In a class of `source_classes` (one with a method that hands out a session), `self`
    and `cls` are session words too (`with self.session() as s`). A statement whose code
    (its NAME tokens and f-strings: Code) names none of the words is passed over: every
    finding below needs its code to name them."""
    found: Tuple[List[Tuple[int, int]], ...] = ([], [], [])
    if source_classes:
        own = session_words + (b"self", b"cls")
        plain = [st for st in statements if not (st[1] == "class" and st[5] in source_classes)]
        classes = [st for st in statements if st[1] == "class" and st[5] in source_classes]
        parts = [session_units(plain, session_words, makers, calls, task_words, flask),
                 session_units(classes, own, makers, calls, task_words, flask)]
        return tuple(tuple(sorted(a + b)) for a, b in zip(*parts))
    sessions, making, calling, tasking = (frozenset(words) for words in (session_words, makers, calls, task_words))

    def named(unit: Unit) -> bool:
        # (Under `flask` a session is at hand anywhere: a call's or a task's name is enough.)
        code = Code(unit)
        return code.mentions(sessions) or bool(makers) and code.mentions(making) or flask and (
            code.mentions(calling) or bool(task_words) and code.mentions(tasking))

    for unit in _function_units(statements, named):
        code = Code(unit)
        span = (unit[0], last_line(unit))
        calls_named = bool(calls) and code.mentions(calling)
        tasks_named = bool(task_words) and code.mentions(tasking)
        has_session = (calls_named or tasks_named) and (flask or code.mentions(sessions))
        if calls_named and has_session:
            found[0].append(span)
        # (POL203: a maker named other than right after `with`, `:` or `->`, in the raw text.)
        if makers and code.mentions(making) and _named_where_made(unit[1], makers):
            found[1].append(span)
        if tasks_named and has_session:
            found[2].append(span)
    return tuple(tuple(ranges) for ranges in found)


# A hint (Index.hint) is a tuple in this order: two flags (may the engine rules, may
# POL204 fire?), then per session family the (first, last) lines where its rules may.
HINT_FIELDS = ("engine", "async", "external", "create", "tasks")
SESSION_FAMILIES = HINT_FIELDS[2:]
NOTHING_FIRES = (False, False, (), (), ())
ALL_LINES = (1, 1 << 30)
ALL_RANGES = (ALL_LINES,)  # a hint's ranges for "anywhere"


def test_files(paths: Iterable[str], root: str) -> FrozenSet[str]:
    """Those of the paths that are test code (is_test_code), the root's prefix made once
    (analysis/roles.py asks each folder once)."""
    from .analysis.roles import is_test_relative

    prefix = root.rstrip(os.sep) + os.sep if root else ""
    cut = len(prefix)
    return frozenset(path for path in paths if path.startswith(prefix) and is_test_relative(path[cut:]))


def is_test_code(path: str, root: str) -> bool:
    """Test code by its path below its project root (analysis/roles.py), where no engine
    or session rule fires unless `check-tests` says so."""
    from .analysis.roles import is_test_relative

    prefix = root.rstrip(os.sep) + os.sep if root else ""
    return path.startswith(prefix) and is_test_relative(path[len(prefix):])


FAMILIES = {
    "engine": ("POL101", "POL102", "POL103", "POL104", "POL105", "POL106", "POL107", "POL108", "POL109",
               "POL110", "POL111", "POL112", "POL113", "POL114"),
    "async": ("POL204",),
    "external": ("POL201", "POL202"),
    "create": ("POL203",),
    "tasks": ("POL205",),
}


def families_of(codes: Iterable[str]) -> FrozenSet[str]:
    """The screen families the enabled rules need (an unknown code needs them all)."""
    codes = set(codes) - {"POL001"}
    known = {code for family in FAMILIES.values() for code in family}
    if codes - known:
        return frozenset(FAMILIES)
    return frozenset(name for name, family in FAMILIES.items() if codes & set(family))


def select(facts: Dict[str, FileFacts], read: Optional[Callable[[str], Optional[bytes]]] = None,
           families: FrozenSet[str] = frozenset(FAMILIES), root: Optional[str] = None,
           configured: FrozenSet[str] = frozenset(), check_tests: bool = True) -> Set[str]:
    """The files (keys of `facts`: the Python files of one project root, as paths) that
    can hold a finding."""
    return Index(facts, read or read_file, families, root, configured, check_tests).select()


def read_file(path: str) -> Optional[bytes]:
    """The bytes of a project file the index reads (files.read_or_none: a regular file
    within the size cap, never blocking), or None."""
    from .files import read_or_none

    return read_or_none(path)


def may_hold(facts: FileFacts) -> bool:
    """A file judged without its project: it names an engine factory, a session class or
    factory, or SQLAlchemy itself."""
    return bool(facts.bits & (DB | ENGINE | SESSION))
