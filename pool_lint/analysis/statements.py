"""A module's layout from its bytes, before (or instead of) a parse: its module-level
statements, and a skeleton that parses in a fraction of the time.

`split_statements` is what the screen reads module-level names from. `skeleton` is what
the project index parses another module of the project through (source.Source.parse_lazily):
each module-level function and class is cut to a one-line stub on the line of its `def`
or `class`, and parsed in full only when a question reaches its name. A module is mostly
functions and classes, and a question about it is mostly about one name of it.
"""
from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

_TOP = re.compile(rb"\n(?=[^\s#])")
# A comment, or a string literal (the screen's noise: screen.Code).
NOISE = re.compile(rb"""#[^\r\n]*|"{3}(?:[^"\\]|\\.|"(?!""))*"{3}|'{3}(?:[^'\\]|\\.|'(?!''))*'{3}"""
                    rb"""|"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*'""", re.DOTALL)
# The start of a line that, in column 0 (or a block's indentation), begins a definition.
_DEFINITION = re.compile(rb"(?:async[ \t]+def|def|class)[ \t]|@")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"()[]{}")


def _balance(part: bytes) -> Tuple[int, int, int]:
    """(open brackets minus closed, triple double quotes, triple single quotes) of a text."""
    brackets = part.translate(None, _NOT_BRACKETS)  # one pass; the counts then run on a few bytes
    depth = 0
    if brackets:
        depth = (brackets.count(b"(") + brackets.count(b"[") + brackets.count(b"{") - brackets.count(b")")
                 - brackets.count(b"]") - brackets.count(b"}"))
    return (depth, part.count(b'"""') if b'"""' in part else 0, part.count(b"'''") if b"'''" in part else 0)


_INDENTED: Dict[bytes, "re.Pattern[bytes]"] = {}


def split_statements(data: bytes, indent: bytes = b"") -> List[bytes]:
    """The module-level statements: text from a line that starts in column 0 to the next,
    joined while a triple-quoted string or a bracket is open, or a line ends in a
    backslash (a string's own column-0 lines belong to its statement). With `indent`,
    the statements of a block indented by it (class_members)."""
    top = _TOP
    if indent:
        top = _INDENTED.get(indent)
        if top is None:
            top = _INDENTED[indent] = re.compile(rb"\n(?=" + re.escape(indent) + rb"[^\s#])")
    starts = [0] + [m.end() for m in top.finditer(data)] + [len(data)]
    out: List[bytes] = []
    begin, depth, doubles, singles = 0, 0, 0, 0
    for start, end in zip(starts, starts[1:]):
        part = data[start:end]
        d, q2, q1 = _balance(part)
        depth, doubles, singles = depth + d, doubles + q2, singles + q1
        if end < len(data) and (depth > 0 or doubles % 2 or singles % 2 or part.rstrip(b"\r\n").endswith(b"\\")):
            if depth <= 0 or doubles % 2 or singles % 2 or part.rstrip(b"\r\n").endswith(b"\\") \
                    or not _DEFINITION.match(data, end + len(indent)) or _exact_depth(data[begin:end]) > 0:
                continue
            # A definition cannot start inside a bracket: the bracket counted open was in
            # a string or a comment (`"{{ ain't }"`), and the statement ends here.
        out.append(data[begin:end])
        begin, depth, doubles, singles = end, 0, 0, 0
    return out


def _exact_depth(text: bytes) -> int:
    """Open brackets minus closed ones in the code of a text, strings and comments left out."""
    return _balance(NOISE.sub(b"", text))[0]


_INDENT = re.compile(rb"\n([ \t]*)([^ \t\r\n])")
_SHORTER: Dict[int, "re.Pattern[bytes]"] = {}  # a line indented by fewer than n characters


def class_members(statement: bytes) -> Optional[List[Tuple[int, bytes]]]:
    """The statements of a module-level class's body, each with its first line (counted
    from the class's first line, 0), decorators joined with what they decorate; the
    class's own head (and anything before its first member) comes first. None when the
    body's indentation is not plain to see. The indentation taken is the smallest of
    the class's lines after its first (a closing bracket's line, a comment's, a blank
    one aside): smaller than the body's only where a string's lines are, and then the
    body is split less, never inside a member."""
    indent = None
    matches = _INDENT.finditer(statement)
    for match in matches:  # the first line that counts, then only a shorter one can
        if match.group(2) in b"#)]}":
            continue
        found = match.group(1)
        if not found:
            return None
        if indent is None:
            indent = found
            shorter = _SHORTER.get(len(indent))
            if shorter is None:
                shorter = _SHORTER[len(indent)] = re.compile(rb"\n[ \t]{0,%d}[^ \t\r\n#)\]}]" % (len(indent) - 1))
            if shorter.search(statement, match.end()) is None:
                break
        elif len(found) < len(indent):
            indent = found
    if indent is None:
        return None
    out: List[Tuple[int, bytes]] = []
    line = 0
    for decorators, piece in _decorated(split_statements(statement, indent), indent):
        text = b"".join(decorators) + piece if decorators else piece
        out.append((line, text))
        line += text.count(b"\n")
    return out


def _decorated(pieces: List[bytes], indent: bytes = b"") -> Iterator[Tuple[List[bytes], bytes]]:
    """(decorators, statement) for split_statements' pieces: the pieces that are
    decorators (`indent` + `@`) go with the statement after them (with b"" for any left
    at the end)."""
    mark, group = indent + b"@", []
    for piece in pieces:
        if piece.startswith(mark):
            group.append(piece)
            continue
        yield group, piece
        group = []
    if group:
        yield group, b""


# The head of a module-level function or class: the line its node's `lineno` names.
_HEAD = re.compile(rb"(async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)")
MIN_CUT_LINES = 3  # a shorter function costs less to parse than to parse again on demand

# Per stub: (its line, (the first line of the statement, the statement's text)).
Stubs = Dict[int, Tuple[int, str]]


def _one_statement(statement: bytes, decorators: int) -> bool:
    """Is the text one function or class (after its decorators)? The splitter joins
    lines while it counts a bracket open, and a bracket in a string counts: then what it
    took for one statement may hold the next ones, which a stub must not swallow. Every
    line in column 0 but the decorators and the head must close a bracket."""
    starts = [m.end() for m in _TOP.finditer(statement)]
    return sum(statement[at:at + 1] not in b")]}" for at in starts) == decorators


def skeleton(text: str, keep: Sequence[Tuple[int, int]] = ()) -> Optional[Tuple[str, Stubs]]:
    """(the text with every module-level function and class of at least MIN_CUT_LINES
    lines, decorators included, cut to a stub, the statements cut) or None when nothing is
    cut or the text cannot be cut safely. A stub is `def name(): ...` (`async def`,
    `class name: ...`) on the line of the original `def` or `class`, every other line of
    the statement left empty: the skeleton has the same lines and binds the same names,
    and what stays of it is the module's own text. A statement with a line in one of the
    `keep` ranges (first, last) stays whole."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone carriage return ends a line for the parser, not for the splitter
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    out: List[bytes] = []
    stubs: Stubs = {}
    line = 1
    for decorators, chunk in _decorated(split_statements(data)):
        head = _HEAD.match(chunk) if chunk[:1] in (b"d", b"c", b"a") else None
        statement = b"".join(decorators) + chunk if decorators else chunk
        newlines = statement.count(b"\n")
        if head is None or newlines < MIN_CUT_LINES or not _one_statement(statement, len(decorators)) or \
                any(first <= line + newlines - (statement[-1:] == b"\n") and line <= last for first, last in keep):
            out.append(statement)
            line += newlines
            continue
        before = newlines - chunk.count(b"\n")  # decorator lines
        stub = (b"%sdef %s(): ..." if head.group(2) == b"def" else b"%sclass %s: ...") % (
            b"async " if head.group(1) else b"", head.group(3))
        after = newlines - before - 1
        out.append(b"\n" * before + stub + (b"\n" * (after + 1) if after >= 0 else b""))
        stubs[line + before] = (line, statement.decode("utf-8"))
        line += newlines
    if not stubs:
        return None
    return b"".join(out).decode("utf-8"), stubs
