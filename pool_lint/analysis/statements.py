"""A module's layout, read from Python's own tokenizer: its module-level statements, the
members of its classes, the names its code holds, its import statements, and the
skeleton that a lazy parse starts from.

Nothing here is a hand-written lexer. Strings, comments, brackets, continuation lines,
form feeds and f-strings are the tokenizer's business: CPython's C tokenizer where the
running Python offers it (3.11: `_tokenize.TokenizerIter`, the one `tokenize` itself is
built on from 3.12), `tokenize.generate_tokens` elsewhere. A text the tokenizer rejects
has no layout (None): the screen then takes the whole file, the analysis parses it
whole (and reports POL001 if the parser rejects it too).

- `layout` is what the screen reads module-level names from: each statement that starts
  a logical line at indentation 0 (its `else:`, `except:`... clauses with it) runs to the
  next one (comment and blank lines go with the statement above), with the NAME tokens
  of its code, its f-strings (whose fields are code), the names its assignments bind
  (each simple statement of a line: `a = 1; engine = ...`), the functions it defines,
  and for a class its members, split the same way one level in. A file's token types
  are one bytes string: bytes.find and bytes.count look for NEWLINE, INDENT, `=` and
  brackets at C speed, so Python code runs per logical line, not per token.
- `import_statements` reads every import statement without tokenizing the whole file:
  each line where the word `import` stands is tokenized from the statement's first word
  (the `from` before it on its line, or across a backslash, or the word itself) to the
  statement's end. An import statement's own words hold no string, so that reading is
  exact for every real import; a text in a string or a comment that reads as an import
  is taken as one too (which only over-selects). A line is read once per process.
- `skeleton` cuts each module-level function and class to a one-line stub on the line of
  its `def` or `class` (source.Source.parse_lazily), parsed in full only when a question
  reaches its name. It is cut only where the tokenizer says a statement at indentation 0
  starts, so it binds exactly the names a full parse binds (a form feed before a `def`,
  a `match`, a semicolon, a column-0 continuation line change nothing). Where only the
  slow tokenizer is at hand, a module is parsed whole instead, which costs less.
"""
from __future__ import annotations

import io
import re
import sys
import tokenize
from bisect import bisect_left
from itertools import accumulate, compress
from operator import itemgetter
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .text import SourceError, decode, line_starts

try:  # CPython 3.11's C tokenizer (tokenize's own from 3.12 on, with another signature)
    from _tokenize import TokenizerIter as _CTokens
except ImportError:  # pragma: no cover - another interpreter
    _CTokens = None

FAST = _CTokens is not None and sys.version_info[:2] == (3, 11)

def _stream(text: str) -> Iterator[Tuple[str, int]]:
    """(string, exact type) of each token of a text, comments and blank lines left out,
    as far as it is read. Raises SyntaxError (or tokenize.TokenError) where the tokenizer
    rejects the text; a text that ends inside a bracket or after a backslash just ends."""
    if FAST:
        for string, kind, *_rest in _CTokens(text):
            yield string, kind
        return
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type not in _SKIP:
                yield token.string, token.exact_type
    except tokenize.TokenError as exc:
        if "EOF in multi-line statement" not in str(exc):
            raise


_CLAUSES = frozenset(["else", "elif", "except", "finally"])
_COMPOUND = frozenset(["if", "elif", "else", "try", "except", "finally", "with", "for", "while", "async", "match"])


# A unit: one statement (or class member), a plain tuple (the scan sends thousands from
# the workers to the index: a tuple subclass would cost a Python call each to unpickle):
# (first line, text, the NAME tokens of its code, its f-strings). The names are one bytes
# string, each name between spaces (b" a b a "): a word is one of them if b" word " is
# in it (screen.Code); an f-string's fields are code.
FIRST, TEXT, NAMES, FSTRINGS = range(4)
Unit = Tuple[int, bytes, bytes, tuple]


def unit_of(first: int, text: bytes, names: bytes = b" ", fstrings: tuple = ()) -> Unit:
    return (first, text, names, fstrings)


def last_line(unit: Unit) -> int:
    """A unit's last line (a trailing comment or blank line included)."""
    text = unit[1]
    ends = text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
    return unit[0] + max(0, ends - (text[-1:] in (b"\n", b"\r")))


# A module-level statement, a plain tuple too: (unit, kind, the names it binds at module
# level (every name before an `=` but an attribute's: more, never less), the functions
# it defines (in a compound statement: at any depth), its members if a class (its head,
# then each member: members_of), its name if a definition, the line of its first token
# (its `def`, `class` or `@`)). `kind`: "def", "async def", "class", "@" (a decorator line),
# "import", "block" (a compound statement other than a definition) or "simple".
UNIT, KIND, TARGETS, DEFS, MEMBERS, NAME, LINE = range(7)
Statement = tuple


def statement_of(unit: Unit, kind: str, targets: tuple = (), defs: tuple = (), members=None, name: str = "",
                 line: int = 0) -> Statement:
    return (unit, kind, targets, defs, members, name, line or unit[0])


def _token_list(text: str) -> list:
    """(string, exact type, line, ...) of each token, comments and blank lines left out:
    the C tokenizer's own tuples where it is at hand, the same from `tokenize` elsewhere."""
    if FAST:
        return list(_CTokens(text))
    out = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type not in _SKIP:
                out.append((token.string, token.exact_type, token.start[0]))
    except tokenize.TokenError as exc:
        if "EOF in multi-line statement" not in str(exc):
            raise
    return out


_SKIP = frozenset([tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER])


def code_words(text: str) -> Optional[List[str]]:
    """The names of a text's code and its f-strings (whose fields are code), as the
    tokenizer reads them (not in their NFKC form), or None where it rejects the text."""
    try:
        tokens = _token_list(text)
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
        return None
    return [token[0] for token in tokens if token[1] in (1, 55, 56) or (token[1] == 3 and _is_fstring(token[0]))]


def _is_fstring(string: str) -> bool:
    """Is a STRING token an f-string (`f"..."`, `rf'...'`, `Fr"..."`)?"""
    if string[0] not in "fFrRbBuU":
        return False
    prefix = string[:min(i for i in (string.find("'"), string.find('"')) if i >= 0)]
    return "f" in prefix or "F" in prefix


# Token types as bytes (the token module's exact types, the C tokenizer's too; none is
# above 255): a file's types are one bytes string, which bytes.find and bytes.count
# search at C speed. NAME 1 (3.11's C tokenizer: AWAIT 55, ASYNC 56), STRING 3,
# NEWLINE 4, INDENT 5, DEDENT 6, ( 7, ) 8, [ 9, ] 10, ; 13, = 22, { 25, } 26.
_T_STRING, _T_NEWLINE, _T_INDENT, _T_DEDENT, _T_SEMI, _T_EQUAL = b"\x03", b"\x04", b"\x05", b"\x06", b"\x0d", b"\x16"
_T_OPEN, _T_CLOSE = (b"\x07", b"\x09", b"\x19"), (b"\x08", b"\x0a", b"\x1a")
_DEPTH_CHANGE = re.compile(b"[\x05\x06]")  # INDENT or DEDENT
_SEPARATOR = re.compile(b"[\x04\x0d\x16]")  # NEWLINE, `;`, `=`
_IS_NAME = bytes(1 if i in (1, 55, 56) else 0 for i in range(256))  # bytes.translate table: 1 for a name


def _uses(strings: List[str], names: bytes) -> bytes:
    """`names` (1 for a NAME token) less the name after each `def` and `class` keyword
    (found with list.index, at C speed): the name a statement defines is not a use of it,
    so `def read_items(...)` is no call of another module's `read_items`."""
    uses = None
    for keyword in ("def", "class"):
        at = -1
        while True:
            try:
                at = strings.index(keyword, at + 1)
            except ValueError:
                break
            if names[at] and at + 1 < len(names) and names[at + 1]:
                if uses is None:
                    uses = bytearray(names)
                uses[at + 1] = 0
    return bytes(uses) if uses is not None else names


class _Tokens:
    """A text's tokens, column by column: strings, types (bytes), lines."""

    __slots__ = ("strings", "kinds", "names", "uses", "text", "found", "_lines")

    def __init__(self, text: str):
        self.text = text
        self.found = found = _token_list(text)
        self.strings = list(map(itemgetter(0), found))
        self.kinds = bytes(min(kind, 255) for kind in map(itemgetter(1), found)) if not FAST \
            else bytes(map(itemgetter(1), found))
        self.names = self.kinds.translate(_IS_NAME)
        self.uses = _uses(self.strings, self.names)
        self._lines: Optional[List[int]] = None

    @property
    def lines(self) -> List[int]:
        """The line of each token (made when first asked: `line` reads a few)."""
        if self._lines is None:
            self._lines = list(map(itemgetter(2), self.found))
        return self._lines

    def starts(self, a: int, b: int, level: int) -> List[int]:
        """The first tokens of the logical lines at indentation `level` (counted from that
        of token a) among tokens a..b. The lines nested deeper are jumped over at C
        speed: INDENT and DEDENT come only at a line's start, so the next one found is
        where the depth can change."""
        kinds = self.kinds
        out: List[int] = []
        depth, at = 0, a
        while at < b:
            while at < b and (kinds[at] == 5 or kinds[at] == 6):
                depth += 1 if kinds[at] == 5 else -1
                at += 1
            if at >= b:
                break
            if depth == level:
                out.append(at)
                end = kinds.find(_T_NEWLINE, at, b)
                if end < 0:
                    break
                at = end + 1
            elif depth < level:  # a line of the block's head: on to its end
                end = kinds.find(_T_NEWLINE, at, b)
                if end < 0:
                    break
                at = end + 1
            else:  # deeper: on to the next change of depth
                found = _DEPTH_CHANGE.search(kinds, at, b)
                if found is None:
                    break
                at = found.start()
        return out

    def fstring_finder(self) -> Callable[[int, int], tuple]:
        """fstrings(a, b): the f-strings among tokens a..b (their fields are code), the
        text's f-strings found once. A tokenizer older than Python 3.12 cuts a PEP 701
        f-string short at a nested string in its own quote (`f"{d["k"]} {httpx.get(u)}"`
        is `f"{d["`, `k`, `"]} {httpx.get(u)}"`; a nested "#" even starts a comment):
        after an f-string whose braces do not close, the lines from it to the unit's end
        are all taken as code (their text is one more f-string)."""
        kinds, strings = self.kinds, self.strings
        found: List[int] = []  # the f-strings' tokens
        encoded: List[bytes] = []
        cut: List[bool] = []  # braces that do not close
        at = kinds.find(_T_STRING)
        while at >= 0:
            string = strings[at]
            if _is_fstring(string):
                found.append(at)
                encoded.append(string.encode("utf-8"))
                plain = string.replace("{{", "").replace("}}", "")
                cut.append(plain.count("{") > plain.count("}"))
            at = kinds.find(_T_STRING, at + 1)
        if not found:
            return lambda a, b: ()

        def fstrings(a: int, b: int) -> tuple:
            k, end = bisect_left(found, a), bisect_left(found, b)
            if k == end:
                return ()
            out = []
            tokens = self.found
            for k in range(k, end):
                out.append(encoded[k])
                if cut[k]:
                    out.append(self.line_text(tokens[found[k]][2], tokens[b - 1][2]).encode("utf-8"))
                    break
            return tuple(out)

        return fstrings

    def line_text(self, first: int, last: int) -> str:
        """The text of lines first..last (1-based, as the tokenizer counts them)."""
        starts = line_starts(self.text)
        return self.text[starts[first - 1]:starts[min(last, len(starts) - 1)]]

    def targets(self, a: int, b: int) -> List[str]:
        """The names before the last `=` (outside brackets) of each simple statement among
        tokens a..b (statements end at a NEWLINE or a `;`): what assignments may bind. A
        name after a `.` is an attribute's, which binds no name (`env.filters[k] = f`
        binds no `filters`; the analysis binds only a target that is a name)."""
        kinds = self.kinds
        if kinds.find(_T_EQUAL, a, b) < 0:
            return []
        out: List[str] = []
        start, last = a, -1
        strings, names = self.strings, self.names
        for found in _SEPARATOR.finditer(kinds, a, b):
            at = found.start()
            kind = kinds[at]
            if kind == 22:
                if self._outside(a, at):
                    last = at
            elif kind == 4 or self._outside(a, at):
                if last > start:
                    out += [strings[i] for i in range(start, last) if names[i] and (not i or kinds[i - 1] != 23)]
                start, last = at + 1, -1
        if last > start:
            out += [strings[i] for i in range(start, last) if names[i] and (not i or kinds[i - 1] != 23)]
        return out

    def _outside(self, a: int, at: int) -> bool:
        """Is token `at` outside every bracket opened since token `a`?"""
        kinds = self.kinds
        return sum(kinds.count(t, a, at) for t in _T_OPEN) <= sum(kinds.count(t, a, at) for t in _T_CLOSE)


def _line_starts(data: bytes) -> List[int]:
    """Byte offset of each line's start (index 0: line 1), the end of the data last.
    Lines end where Python's tokenizer ends them: \\r\\n, \\r or \\n (bytes.splitlines
    splits there, never at a form feed or a vertical tab)."""
    starts = [0]
    starts.extend(accumulate(map(len, data.splitlines(True))))
    if data[-1:] in (b"\n", b"\r") or len(starts) == 1:
        starts.append(len(data))
    return starts


_F_PREFIX = re.compile(r"[fF][rR]?['\"]")  # in the text before any f-string's quote (rf", Rf" hold f")


def layout(data: bytes) -> Optional[List[Statement]]:
    """The module-level statements of a file's bytes (their texts join to the bytes), or
    None when it does not decode or tokenize. (Every file the scan tokenizes goes
    through here: the loops below are written for few Python operations per statement.)"""
    try:
        text = decode(data)
    except SourceError:
        return None
    try:
        tokens = _Tokens(text)
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
        return None
    strings, kinds, found, is_name, uses = tokens.strings, tokens.kinds, tokens.found, tokens.names, tokens.uses
    starts = _line_starts(data)
    count = len(starts) - 1
    # The byte offset of line n's start is offs[n] for n <= count (the data's end past it).
    offs = [0]
    offs += starts[:count]
    size = len(kinds)
    # The f-strings of the file (a unit's fields that are code), found once: per unit, those
    # between its first and last token (_Tokens.fstrings, the same answer).
    fstrings = tokens.fstring_finder() if _F_PREFIX.search(text) is not None else None

    # The statements at indentation 0, a compound statement's clauses (`else:`,
    # `except:`...) with it: their first tokens.
    tops = [at for at in tokens.starts(0, size, 0) if strings[at] not in _CLAUSES]
    out: List[Statement] = []
    last = len(tops) - 1
    for n, a in enumerate(tops):
        line = found[a][2]
        first = 1 if n == 0 else line
        if n < last:
            b = tops[n + 1]
            end_line = found[b][2]
            text_bytes = data[offs[first if first <= count else count]:offs[end_line if end_line <= count else count]]
        else:
            b = size
            text_bytes = data[offs[first if first <= count else count]:]
        word = strings[a]
        if word == "import" or word == "from" or word == "@":
            # No rule looks into an import or a decorator line for its names (the
            # decorated definition is a statement of its own): their units hold none.
            out.append(((first, text_bytes, b" ", ()), "@" if word == "@" else "import", (), (), None, "", line))
            continue
        whole = (first, text_bytes, (" %s " % " ".join(compress(strings[a:b], uses[a:b]))).encode("utf-8"),
                 fstrings(a, b) if fstrings is not None else ())
        if word == "def" or (word == "async" and a + 1 < b and strings[a + 1] == "def"):
            at = a + (1 if word == "def" else 2)
            name = strings[at] if at < b and is_name[at] else ""
            out.append((whole, "def" if word == "def" else "async def", (), (name,) if name else (), None, name, line))
        elif word == "class":
            name = strings[a + 1] if a + 1 < b and is_name[a + 1] else ""
            members = _members(tokens, a, b, whole, offs, count, fstrings)
            out.append((whole, "class", (), (), members, name, line))
        elif word in _COMPOUND or kinds.find(_T_INDENT, a, b) >= 0:
            # A compound statement (`if`, `try`, `with`, `match`...): whatever its lines
            # bind or define, at any depth, with the whole statement as its text.
            defs = []
            at = a
            while True:
                try:
                    at = strings.index("def", at, b)
                except ValueError:
                    break
                if at + 1 < b and is_name[at + 1]:
                    defs.append(strings[at + 1])
                at += 1
            out.append((whole, "block", tuple(tokens.targets(a, b)), tuple(defs), None, "", line))
        else:
            out.append((whole, "simple", tuple(tokens.targets(a, b)), (), None, "", line))
    if not out and data:  # comments and blank lines only
        out.append(statement_of(unit_of(1, data), "simple"))
    return out


def _members(tokens: "_Tokens", a: int, b: int, whole: Unit, offs: List[int], count: int, fstrings
             ) -> Optional[tuple]:
    """A class's head (with anything before its first member), then each member of its
    body: a statement at the body's indentation, decorators joined with what follows; or
    None for a class on one line. Each without its text: (first line, start, end in the
    class's text, names, f-strings). `offs`: the byte offset of each line's start (up to
    line `count`), `fstrings`: the file's f-string finder, or None."""
    strings, found, uses = tokens.strings, tokens.found, tokens.uses
    starts: List[int] = []
    decorated = False
    for at in tokens.starts(a, b, 1):
        if not decorated and strings[at] not in _CLAUSES:  # a clause goes with its statement
            starts.append(at)
        decorated = strings[at] == "@"
    if not starts:
        return None
    first = whole[FIRST]
    base = offs[first if first <= count else count]
    size = len(whole[TEXT])
    out = []
    lo, line_a = a, first
    cut_a = offs[line_a if line_a <= count else count] - base
    for hi in starts + [b]:
        if hi < b:
            line_b = found[hi][2]
            cut_b = offs[line_b if line_b <= count else count] - base
        else:
            cut_b = size
        out.append((line_a, cut_a, cut_b, (" %s " % " ".join(compress(strings[lo:hi], uses[lo:hi]))).encode("utf-8"),
                    fstrings(lo, hi) if fstrings is not None else ()))
        if hi < b:
            lo, line_a, cut_a = hi, line_b, cut_b
    return tuple(out)


def members_of(statement: Statement) -> Optional[List[Unit]]:
    """The units of a class statement's members (MEMBERS holds them without their texts,
    (first line, start, end in the class's text, names, f-strings): the class's text
    holds them), or None."""
    members = statement[MEMBERS]
    if members is None:
        return None
    text = statement[UNIT][TEXT]
    return [(first, text[start:end], names, fstrings) for first, start, end, names, fstrings in members]


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
    for _line, statements in import_groups(data):
        yield from statements


def import_groups(data: bytes, convert: Optional[Callable[[tuple], object]] = None,
                  memo: Optional[Dict[bytes, object]] = None) -> Iterator[Tuple[Optional[bytes], object]]:
    """import_statements by line: (the line's text, the statements read from it) where
    the line holds them whole (the same line reads the same anywhere: a key to remember
    what it imports by), (None, statements) elsewhere. With `convert`: (line,
    convert(statements)) instead, remembered in `memo` by the line, so that a line seen
    before is neither read nor converted again (`memo` is for import_groups alone to
    fill: it holds only lines where the word `import` stands whole)."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):  # a lone \r ends a line too
        for match in _IMPORT_WORD.finditer(data):
            at = match.start()
            found = tuple(_read_at(data, at, max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1))
            yield None, (found if convert is None else convert(found))
        return
    lines = _LINES
    if convert is None:
        memo = lines
    find, rfind, size = data.find, data.rfind, len(data)
    get = memo.get
    at = find(b"import")
    while at >= 0:
        # The usual case first: a line seen before (it holds the word `import` whole: only
        # such lines are remembered, so which of its `import`s was found does not matter)
        # that no backslash joins to the one above (`\\\n`, `\\\r\n` end that one).
        line_start = rfind(b"\n", 0, at) + 1
        line_end = find(b"\n", at)
        if line_end < 0:
            line_end = size
        line = data[line_start:line_end]
        found = get(line)
        if found is not None and found is not _MORE and (
                line_start < 2 or data[line_start - 2] != 92 and (
                    data[line_start - 2] != 13 or line_start < 3 or data[line_start - 3] != 92)):
            yield line, found
            at = find(b"import", line_end)
            continue
        after = data[at + 6:at + 7]
        if (at and (data[at - 1:at].isalnum() or data[at - 1:at] == b"_")) or after.isalnum() or after == b"_":
            at = find(b"import", at + 6)  # inside a longer name
            continue
        # A line not seen before: where no backslash joins it to the one above and it
        # holds its statements whole, it is read once per process.
        above = line_start - 1 - (data[line_start - 2:line_start] == b"\r\n")
        if line_start == 0 or data[above - 1:above] != b"\\":
            if found is None:
                if len(memo) > 100_000:
                    memo.clear()
                read = lines.get(line)
                if read is None:
                    if len(lines) > 100_000:
                        lines.clear()
                    read = lines[line] = _read_line(line)
                found = memo[line] = read if read is _MORE or convert is None else convert(read)
            if found is not _MORE:
                yield line, found
                at = find(b"import", line_end)
                continue
        for word in _IMPORT_WORD.finditer(data, line_start, line_end):
            found = tuple(_read_at(data, word.start(), line_start))
            yield None, (found if convert is None else convert(found))
        at = find(b"import", line_end)


_LINES: Dict[bytes, object] = {}  # a line's text -> the import statements it holds (or _MORE)


def _read_line(line: bytes):
    """The import statements of a line that no backslash joins to the one above, read
    from each of its `import` words; _MORE when one of them goes on past the line."""
    out: List[ImportStatement] = []
    for match in _IMPORT_WORD.finditer(line):
        at = match.start()
        found = None
        for found in _FROM_WORD.finditer(line, 0, at):
            pass
        read = _parse_import(line[found.start():]) if found is not None else None
        if read is _MORE:
            return _MORE
        if read is None:
            read = _parse_import(line[at:])
            if read is _MORE:
                return _MORE
        if read is not None:
            out.extend(_per_module(read))
    return tuple(out)


def _per_module(statement: ImportStatement) -> Iterator[ImportStatement]:
    """`import a.b as c, d`: one statement per module, as `from` has one per module."""
    if statement[0]:
        yield statement
    else:
        yield from ((False, name, ((name, alias),)) for name, alias in statement[2])


def _read_at(data: bytes, at: int, line_start: int) -> Iterator[ImportStatement]:
    """The import statement of the word `import` at `at`, read from its `from` if it has
    one (on its line, or on a line a backslash joins to it), else from the word."""
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
            yield from _per_module(read)


def _read_import(data: bytes, start: int) -> Optional[ImportStatement]:
    """The import statement whose first word is at `start`, or None if the tokens there
    are no import statement."""
    end = data.find(b"\n", start)
    if end < 0:
        end = len(data)
    lines = 1
    while True:
        window = data[start:end]
        cached = _READ.get(window, _UNREAD)
        if cached is _UNREAD:
            cached = _parse_import(window)
            if len(window) <= 4096:  # (a statement over many lines recurs too: remembered by its text)
                if len(_READ) > 100_000:
                    _READ.clear()
                _READ[window] = cached
        if cached is not _MORE:
            return cached
        if end >= len(data):
            return None
        if lines == 1 and b"(" in window:
            # A bracket carries it over: most such statements end on the line of the
            # first `)` after it (else, a `)` in a comment, read on from there).
            close = data.find(b")", end)
            if close >= 0:
                more = data.find(b"\n", close)
                end = len(data) if more < 0 else more
                lines = 2
                continue
        for _ in range(lines):  # read on: a bracket or a backslash carries the statement over
            more = data.find(b"\n", end + 1)
            end = len(data) if more < 0 else more
        lines *= 2


_MORE = ("more",)  # the window ends inside the statement
_UNREAD = ("unread",)


def _parse_import(window: bytes):
    """What the tokens of `window` (from an import statement's first word) import: an
    ImportStatement, _MORE when the window ends inside the statement, or None."""
    if window.rstrip(b"\r\n").endswith(b"\\"):
        return _MORE  # a backslash goes on to the next line (or ends a comment: read on anyway)
    try:
        text = window.decode("utf-8")
    except UnicodeDecodeError:
        text = window.decode("latin-1")
    words: List[str] = []
    try:
        # _stream's tokens, read here from the C tokenizer itself where there is one
        # (the generator between them cost as much as the tokenizing), as far as needed.
        for token in _CTokens(text + "\n") if FAST else _stream(text + "\n"):
            kind = token[1]
            if kind == 4 or kind == 13:  # NEWLINE, `;`
                break
            if kind == 5 or kind == 6:  # INDENT, DEDENT
                continue
            words.append(token[0])
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
            if not (words[i].isidentifier() or (words[i] and not words[i].strip("."))):  # a name, dots
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


# What the skeleton needs of each statement at indentation 0 (a compound statement's
# clauses with it): (the line of its first token, its kind: "def", "async def", "class",
# "@" or "" for any other, the name it defines or ""). `heads` reads them from a layout.
Heads = Tuple[Tuple[int, str, str], ...]
_HEAD_KINDS = {"def": "def", "async def": "async def", "class": "class", "@": "@"}


def heads(statements: Sequence[Statement]) -> Heads:
    """The heads of a module's layout (`layout`): what `skeleton` would read from the
    tokenizer, for a module the scan laid out already."""
    return tuple((s[LINE], _HEAD_KINDS.get(s[KIND], ""), s[NAME]) for s in statements)


def _heads_of(text: str) -> Optional[list]:
    """The heads of a text, from the tokenizer (None where it rejects the text)."""
    try:
        tokens = _Tokens(text)
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
        return None
    strings, is_name, kinds, found = tokens.strings, tokens.names, tokens.kinds, tokens.found
    out = []
    for at in tokens.starts(0, len(kinds), 0):
        word = strings[at]
        if word in _CLAUSES:
            continue
        end = kinds.find(_T_NEWLINE, at)
        end = end if end >= 0 else len(kinds)
        kind = "@" if word == "@" else "def" if word == "def" else "async def" if word == "async" and \
            end - at > 2 and strings[at + 1] == "def" else "class" if word == "class" else ""
        name = ""
        if kind and kind != "@":
            name_at = at + (2 if kind == "async def" else 1)
            name = strings[name_at] if is_name[name_at] else ""
        out.append((found[at][2], kind, name))
    return out


def skeleton(text: str, keep: Sequence[Tuple[int, int]] = (), known: Optional[Heads] = None
             ) -> Optional[Tuple[str, Stubs]]:
    """(the text with every module-level function and class of at least MIN_CUT_LINES
    lines, decorators included, cut to a stub, the statements cut) or None when nothing is
    cut, the text has no layout, or only the slow tokenizer is at hand (a whole parse
    costs less then). A stub is `def name(): ...` (`async def`, `class name: ...`) on the
    line of the original `def` or `class`, every other line of the statement left empty:
    the skeleton has the same lines and binds the same names, and what stays of it is
    the module's own text. A statement with a line in one of the `keep` ranges (first,
    last) stays whole. `known`: the text's heads from its layout (the scan's), which
    spares tokenizing it again."""
    if not FAST:
        return None
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone carriage return ends a line: the stubs count lines by \n
    tops = known if known is not None else _heads_of(text)
    if tops is None:
        return None
    segments = text.split("\n")  # line n is segments[n - 1]
    stubs: Stubs = {}
    start = None  # the first line of the decorators above a definition
    for n, (line, kind, name) in enumerate(tops):
        first = start if start is not None else 1 if n == 0 else line
        if kind == "@":
            start = first
            continue
        start = None
        last = tops[n + 1][0] - 1 if n + 1 < len(tops) else len(segments)  # with the comment lines after it
        newlines = last - first + (last < len(segments))
        if not kind or not name or newlines < MIN_CUT_LINES or \
                any(lo <= last - (last == len(segments) and not segments[-1]) and first <= hi for lo, hi in keep):
            continue
        whole = "\n".join(segments[first - 1:last]) + ("\n" if last < len(segments) else "")
        stub = ("class %s: ..." if kind == "class" else "async def %s(): ..." if kind == "async def"
                else "def %s(): ...") % name
        segments[first - 1:last] = [""] * (line - first) + [stub] + [""] * (last - line)
        stubs[line] = (first, whole)
    if not stubs:
        return None
    return "\n".join(segments), stubs
