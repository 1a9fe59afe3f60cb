"""A module's layout, read from Python's own tokenizer: its module-level statements, the
members of its classes, the names its code holds, its import statements, and the
skeleton that a lazy parse starts from.

Nothing here is a hand-written lexer. Strings, comments, brackets, continuation lines,
form feeds and f-strings are the tokenizer's business: `tokens` runs CPython's C
tokenizer where the running Python offers it (3.11: `_tokenize.TokenizerIter`, the
tokenizer `tokenize` itself is built on from 3.12), and `tokenize.generate_tokens`
elsewhere. A text the tokenizer rejects has no layout (None): the callers then take the
whole file (the screen) or parse it whole (the analysis).

- `layout` is what the screen reads module-level names from: each statement that starts
  a logical line at indentation 0 runs to the next one (comment and blank lines go with
  the statement above), with the NAME tokens of its code, its f-strings (whose fields
  are code), the names its assignments and definitions bind, and for a class its
  members, split the same way one level in.
- `import_statements` reads every import statement from the bytes of a file without
  tokenizing all of it: each place the word `import` stands is read by the tokenizer
  from the statement's first word (`from` or `import`) to its end. A statement's own
  words hold no string, so that reading is exact for every real import; a text in a
  string or a comment that reads as an import is taken as one too (which only
  over-selects).
- `skeleton` cuts each module-level function and class of a layout to a one-line stub
  on the line of its `def` or `class` (source.Source.parse_lazily), parsed in full only
  when a question reaches its name. It is cut only along a layout's statements, so it
  binds exactly the names a full parse binds; where the tokenizer is the slow one (no C
  tokenizer), a module is parsed whole instead, which costs less.
"""
from __future__ import annotations

import io
import re
import sys
import tokenize
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

try:  # CPython 3.11's C tokenizer (tokenize's own from 3.12 on, with another signature)
    from _tokenize import TokenizerIter as _CTokens
except ImportError:  # pragma: no cover - another interpreter
    _CTokens = None

FAST = _CTokens is not None and sys.version_info[:2] == (3, 11)

# Token kinds, as `tokens` yields them.
NAME, STRING, NEWLINE, INDENT, DEDENT, OTHER = "name", "string", "newline", "indent", "dedent", "other"
_C_KINDS = {1: NAME, 3: STRING, 4: NEWLINE, 5: INDENT, 6: DEDENT, 55: NAME, 56: NAME}  # 55, 56: await, async
_PY_KINDS = {tokenize.NAME: NAME, tokenize.STRING: STRING, tokenize.NEWLINE: NEWLINE, tokenize.INDENT: INDENT,
             tokenize.DEDENT: DEDENT, tokenize.COMMENT: None, tokenize.NL: None, tokenize.ENDMARKER: None,
             tokenize.ENCODING: None}


def tokens(text: str) -> Iterator[Tuple[str, str, int]]:
    """(kind, string, line) of each token of a text, comments and blank lines left out.
    Raises SyntaxError (or tokenize.TokenError) where the tokenizer rejects the text; a
    text that ends inside a bracket or after a backslash just ends."""
    if FAST:
        kinds = _C_KINDS
        for string, kind, line, _end, _col, _end_col, _text in _CTokens(text):
            yield kinds.get(kind, OTHER), string, line
        return
    kinds = _PY_KINDS
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = kinds.get(token.type, OTHER)
            if kind is not None:
                yield kind, token.string, token.start[0]
    except tokenize.TokenError as exc:
        if "EOF in multi-line statement" not in str(exc):
            raise


_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_CLAUSES = frozenset(["else", "elif", "except", "finally"])
_COMPOUND = frozenset(["if", "elif", "else", "try", "except", "finally", "with", "for", "while", "async", "match"])


class Unit(tuple):
    """One statement (or class member): (first line, text, the NAME tokens of its code,
    its f-strings). A plain tuple: the scan sends them from the workers to the index."""

    __slots__ = ()

    def __new__(cls, first: int, text: bytes, names: frozenset, fstrings: tuple = ()):
        return tuple.__new__(cls, (first, text, names, fstrings))

    def __getnewargs__(self):
        return tuple(self)

    first = property(lambda self: self[0])
    text = property(lambda self: self[1])
    names = property(lambda self: self[2])  # bytes, each a whole name of its code
    fstrings = property(lambda self: self[3])  # bytes: an f-string's fields are code

    @property
    def last(self) -> int:
        """Its last line (a trailing comment or blank line included)."""
        text = self[1]
        ends = text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
        return self[0] + max(0, ends - (text[-1:] in (b"\n", b"\r")))


class Statement(tuple):
    """A module-level statement: (unit, kind, the names it binds at module level, the
    functions it defines, its members if a class, its name if a definition, the line of
    its first token). `kind`: "def", "async def", "class", "@" (a decorator line), "import", "block"
    (a compound statement other than a definition) or "simple"."""

    __slots__ = ()

    def __new__(cls, unit: Unit, kind: str, targets: tuple = (), defs: tuple = (), members=None,
                name: str = "", line: int = 0):
        return tuple.__new__(cls, (unit, kind, targets, defs, members, name, line or unit[0]))

    def __getnewargs__(self):
        return tuple(self)

    unit = property(lambda self: self[0])
    kind = property(lambda self: self[1])
    targets = property(lambda self: self[2])  # assignment targets (every name before an `=`: more, never less)
    defs = property(lambda self: self[3])  # the functions it defines (a block: at any depth)
    members = property(lambda self: self[4])  # Optional[Tuple[Unit, ...]]: a class's head, then each member
    name = property(lambda self: self[5])  # of a function or a class
    line = property(lambda self: self[6])  # where its first token is (its `def`, `class` or `@`)


class _Line:
    """One logical line, as the tokenizer gives it."""

    __slots__ = ("line", "depth", "first", "second", "names", "fstrings", "targets")

    def __init__(self, line: int, depth: int, first: str):
        self.line, self.depth, self.first, self.second = line, depth, first, ""
        self.names: List[str] = []
        self.fstrings: List[str] = []
        self.targets: List[str] = []


def _logical_lines(text: str) -> List[_Line]:
    """The logical lines of a text, with the indentation level each starts at."""
    out: List[_Line] = []
    current: Optional[_Line] = None
    depth = brackets = 0
    pending: List[str] = []  # names of the simple statement so far, before its last `=`
    since: List[str] = []
    for kind, string, line in tokens(text):
        if kind is INDENT:
            depth += 1
            continue
        if kind is DEDENT:
            depth -= 1
            continue
        if kind is NEWLINE:
            if current is not None:
                current.targets += pending
            current, brackets, pending, since = None, 0, [], []
            continue
        if current is None:
            current = _Line(line, depth, string)
            out.append(current)
        elif not current.second:
            current.second = string
        if kind is NAME:
            current.names.append(string)
            since.append(string)
        elif kind is STRING:
            quote = min(i for i in (string.find("'"), string.find('"')) if i >= 0)
            if "f" in string[:quote] or "F" in string[:quote]:
                current.fstrings.append(string)
        elif string in _OPEN:
            brackets += 1
        elif string in _CLOSE:
            brackets -= 1
        elif brackets <= 0:
            if string == "=":
                pending += since
                since = []
            elif string == ";":
                current.targets += pending
                pending, since = [], []
    if current is not None:
        current.targets += pending
    return out


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _line_starts(data: bytes) -> List[int]:
    """Byte offset of each line's start (index 0: line 1), and the end of the data last.
    Lines end where Python's tokenizer ends them: \\r\\n, \\r or \\n (never \\f or \\v)."""
    return [0] + [m.end() for m in _LINE_END.finditer(data)] + [len(data)]


def _unit(lines: Sequence[_Line], first: int, text: bytes) -> Unit:
    names = frozenset(name.encode("utf-8") for line in lines for name in line.names)
    fstrings = tuple(s.encode("utf-8") for line in lines for s in line.fstrings)
    return Unit(first, text, names, fstrings)


def layout(data: bytes) -> Optional[List[Statement]]:
    """The module-level statements of a file's bytes (their texts join to the bytes), or
    None when it does not decode or tokenize."""
    from .source import SourceError, decode

    try:
        text = decode(data)
    except SourceError:
        return None
    try:
        lines = _logical_lines(text)
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
        return None
    starts = _line_starts(data)
    count = len(starts) - 1

    def offset(line: int) -> int:
        return starts[min(max(line, 1), count) - 1]

    # A clause of a compound statement (`else:`, `except:`...) belongs to its statement.
    tops = [i for i, line in enumerate(lines) if line.depth == 0 and line.first not in _CLAUSES]
    out: List[Statement] = []
    for n, i in enumerate(tops):
        j = tops[n + 1] if n + 1 < len(tops) else len(lines)
        head = lines[i]
        first = 1 if n == 0 else head.line
        text_bytes = data[offset(first):offset(lines[j].line)] if j < len(lines) else data[offset(first):]
        group = lines[i:j]
        unit = _unit(group, first, text_bytes)
        word = head.first
        if word == "def" or (word == "async" and head.second == "def"):
            name = head.names[1] if word == "def" else head.names[2] if len(head.names) > 2 else ""
            out.append(Statement(unit, "def" if word == "def" else "async def", (), (name,) if name else (), None,
                                 name, head.line))
        elif word == "class":
            name = head.names[1] if len(head.names) > 1 else ""
            members = _members(group, unit, offset) if any(line.depth == 1 for line in group) else None
            out.append(Statement(unit, "class", (), (), members, name, head.line))
        elif word == "@":
            out.append(Statement(unit, "@", line=head.line))
        elif word in ("import", "from"):
            out.append(Statement(unit, "import", line=head.line))
        elif len(group) > 1 or word in _COMPOUND:
            # A compound statement (`if`, `try`, `with`, `match`...): whatever its lines
            # bind or define, at any depth, with the whole statement as its text.
            targets = tuple(t for line in group for t in line.targets)
            defs = tuple(line.names[1] for line in group if line.first == "def" and len(line.names) > 1) + \
                tuple(line.names[2] for line in group if line.first == "async" and line.second == "def"
                      and len(line.names) > 2)
            out.append(Statement(unit, "block", targets, defs, line=head.line))
        else:
            out.append(Statement(unit, "simple", tuple(head.targets), line=head.line))
    if not out and data:  # comments and blank lines only
        out.append(Statement(Unit(1, data, frozenset()), "simple"))
    return out


def _members(group: Sequence[_Line], unit: Unit, offset) -> Tuple[Unit, ...]:
    """A class's head (with anything before its first member), then each member of its
    body: a statement at the body's indentation, decorators joined with what follows."""
    starts: List[int] = []  # indices into group where a member starts
    decorated = False
    for k, line in enumerate(group):
        if line.depth != 1:
            continue
        if not decorated:
            starts.append(k)
        decorated = line.first == "@"
    bounds = [0] + starts + [len(group)]
    base = offset(unit.first)
    text = unit.text
    out: List[Unit] = []
    for a, b in zip(bounds, bounds[1:]):
        if a == b:
            continue
        line_a = unit.first if a == 0 else group[a].line
        cut_a = offset(line_a) - base
        cut_b = offset(group[b].line) - base if b < len(group) else len(text)
        out.append(_unit(group[a:b], line_a, text[cut_a:cut_b]))
    return tuple(out)


# -- import statements --------------------------------------------------------------------
_IMPORT_WORD = re.compile(rb"\bimport\b")
_FROM_WORD = re.compile(rb"\bfrom\b")
ImportStatement = Tuple[bool, str, Tuple[Tuple[str, Optional[str]], ...]]
_READ: Dict[bytes, Optional[ImportStatement]] = {}  # one line's text -> what it reads


def import_statements(data: bytes) -> Iterator[ImportStatement]:
    """(is_from, module, ((name, alias), ...)) for each import statement of a file's bytes
    (module: relative ones keep their dots), read by the tokenizer from the statement's
    first word. Every import Python's parser sees is found; a text in a string or a
    comment that reads as one is found too."""
    # A statement holds the word `import` once (a comment inside its brackets aside, which
    # then reads as another import: over-selecting), so each place is read on its own.
    for match in _IMPORT_WORD.finditer(data):
        at = match.start()
        line_start = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
        region = line_start
        while region > 0:  # the lines above that a backslash joins to this one
            end = region - 1 - (data[region - 2:region] == b"\r\n")
            if data[end - 1:end] != b"\\":
                break
            region = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
        found = None
        for found in _FROM_WORD.finditer(data, region, at):
            pass
        # On the word's own line, a `from` before it that reads as the statement's first
        # word is it (were the `from` in a string or a comment, a quote or the line's end
        # would stand between). Across a backslash a comment could end in one: then both
        # readings count.
        both = region < line_start
        read = _read_import(data, found.start()) if found is not None else None
        if read is not None:
            yield read
        if read is None or both:
            read = _read_import(data, at)
            if read is not None:
                yield from ((False, name, ((name, alias),)) for name, alias in read[2])


def _read_import(data: bytes, start: int) -> Optional[ImportStatement]:
    """The import statement whose first word is at `start`, or None if the tokens there
    are no import statement."""
    end = data.find(b"\n", start)
    if end < 0:
        end = len(data)
    lines = 1
    while True:
        window = data[start:end]
        cached = _READ.get(window) if lines == 1 else None
        if cached is None and (lines > 1 or window not in _READ):
            cached = _parse_import(window)
            if lines == 1:
                _READ[window] = cached
                if len(_READ) > 100_000:
                    _READ.clear()
        if cached is not _MORE:
            return cached
        if end >= len(data):
            return None
        for _ in range(lines):  # read on: a bracket or a backslash carries the statement over
            more = data.find(b"\n", end + 1)
            end = len(data) if more < 0 else more
        lines *= 2


_MORE = ("more",)  # the window ends inside the statement


def _parse_import(window: bytes):
    """What the tokens of `window` (from an import statement's first word) import: an
    ImportStatement, _MORE when the window ends inside the statement, or None."""
    try:
        text = window.decode("utf-8")
    except UnicodeDecodeError:
        text = window.decode("latin-1")
    words: List[str] = []
    try:
        for kind, string, _line in tokens(text + "\n"):
            if kind is NEWLINE or string == ";":
                break
            if kind is INDENT or kind is DEDENT:
                continue
            words.append(string)
        else:
            return _MORE
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
        return None
    return _import_grammar(words)


def _import_grammar(words: List[str]) -> Optional[ImportStatement]:
    """An import statement from its tokens (brackets, commas and all), or None."""
    if not words:
        return None
    if words[0] == "from":
        i, module = 1, ""
        while i < len(words) and words[i] != "import":
            if not (words[i].isidentifier() or set(words[i]) == {"."}):
                return None
            module += words[i]
            i += 1
        if i >= len(words) or not module:
            return None
        rest = [w for w in words[i + 1:] if w not in ("(", ")")]
        names = _name_list(rest, dotted=False)
        return (True, module, names) if names else None
    if words[0] == "import":
        names = _name_list(words[1:], dotted=True)
        return (False, "", names) if names else None
    return None


def _name_list(words: List[str], dotted: bool) -> Optional[Tuple[Tuple[str, Optional[str]], ...]]:
    out = []
    i = 0
    while i < len(words):
        name = words[i]
        if not (name.isidentifier() or name == "*"):
            return None
        i += 1
        while dotted and i + 1 < len(words) and words[i] == ".":
            name += "." + words[i + 1]
            i += 2
        alias = None
        if i + 1 < len(words) and words[i] == "as":
            alias = words[i + 1]
            i += 2
        out.append((name, alias))
        if i < len(words):
            if words[i] != ",":
                return None
            i += 1
    return tuple(out) if out else None


# -- the skeleton of a lazy parse ---------------------------------------------------------
MIN_CUT_LINES = 3  # a shorter function costs less to parse than to parse again on demand

# Per stub: (its line, (the first line of the statement, the statement's text)).
Stubs = Dict[int, Tuple[int, str]]


def skeleton(text: str, keep: Sequence[Tuple[int, int]] = ()) -> Optional[Tuple[str, Stubs]]:
    """(the text with every module-level function and class of at least MIN_CUT_LINES
    lines, decorators included, cut to a stub, the statements cut) or None when nothing is
    cut, the text has no layout, or only the slow tokenizer is at hand (a whole parse
    costs less then). A stub is `def name(): ...` (`async def`, `class name: ...`) on the
    line of the original `def` or `class`, every other line of the statement left empty:
    the skeleton has the same lines and binds the same names, and what stays of it is
    the module's own text. A statement with a line in one of the `keep` ranges (first,
    last) stays whole."""
    if not FAST:
        return None
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone carriage return ends a line: the stubs count lines by \n
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    statements = layout(data)
    if statements is None:
        return None
    out: List[bytes] = []
    stubs: Stubs = {}
    decorators: List[Statement] = []
    for statement in statements:
        if statement.kind == "@":
            decorators.append(statement)
            continue
        group = decorators + [statement]
        decorators = []
        first = group[0].unit.first
        whole = b"".join(s.unit.text for s in group)
        newlines = whole.count(b"\n")
        last = first + newlines - (whole[-1:] == b"\n")
        if statement.kind not in ("def", "async def", "class") or not statement.name or newlines < MIN_CUT_LINES or \
                any(lo <= last and first <= hi for lo, hi in keep):
            out.append(whole)
            continue
        stub = (b"class %s: ..." if statement.kind == "class" else b"async def %s(): ..."
                if statement.kind == "async def" else b"def %s(): ...") % statement.name.encode("utf-8")
        before = statement.line - first  # decorator and comment lines
        after = newlines - before - 1
        out.append(b"\n" * before + stub + (b"\n" * (after + 1) if after >= 0 else b""))
        stubs[statement.line] = (first, whole.decode("utf-8"))
    out.extend(s.unit.text for s in decorators)
    if not stubs:
        return None
    return b"".join(out).decode("utf-8"), stubs
