"""Reading a file written for a newer Python than the one running pool-lint.

The analysis parses with the running Python's `ast` (source.Source.parse). A file that
parser rejects is given to LibCST, which reads Python 3.0 to 3.14 whatever runs it; if
LibCST reads it, the few constructs newer than the running Python are rewritten into
text the running parser reads, and the analysis parses that. Each rewrite keeps every
line where it was and every byte of the code it keeps where it was on its line (what it
blanks out it replaces byte for byte, non-ASCII characters by as many spaces as their
UTF-8 bytes), so `ast`'s positions (UTF-8 byte columns) are positions in the original
file, and everything read from the original text (columns in characters, `# noqa`,
fixes) stays right:

- PEP 695 (3.12) `type X[T] = v` becomes `X, = v` (the name is bound and `v` is code, as
  under 3.12, where a `TypeAlias` binds `X` with no value the analysis reads);
  `def f[T](...)` and `class C[T](...)` lose their type parameters (blanked; PEP 696
  defaults, 3.13, with them), as the analysis ignores them under 3.12.
- PEP 758 (3.14) `except A, B:` becomes `except(A, B):` (the blank after `except` takes
  the opening parenthesis; for the closing one, a blank before or after the colon, or
  between the types, gives room: with none, what follows the colon on its line moves
  one column).
- PEP 701 (3.12) f-strings the running parser rejects: a string inside a replacement
  field that uses the f-string's own quote is given the other quote when its text holds
  neither (the same value), and its comments are blanked; a field that still cannot be
  read (a backslash, a nested f-string in the same quote) becomes a name no module
  binds, `_` of the field's length (its value unknown, as an f-string with an unknown
  part is; a call inside it is not seen), `(_ )` over lines in a triple-quoted one; a
  string that still does not parse (a line break in a field of a one-line f-string)
  becomes `(_   )`, with the strings implicitly joined to it.
- PEP 750 (3.14) t-strings are read as f-strings (`t` becomes `f`): their fields are
  the same code.

Only files the running parser rejects come here, and LibCST (about 140 ms to import,
a parse with positions some 30 times `ast`'s) reads only their module-level statements
that the running parser rejects, each alone (the file's statements as the tokenizer
finds them; the whole file where it finds none, or a statement does not read alone),
and of such a statement only what the running parser rejects: the headers of its
blocks (`class C[T](...):`, `except A, B:`) and, the same way down, the statements in
them that the running parser rejects on their own, each other statement standing for
a `pass` (`_reduced`: a generic class of a thousand lines is its header and the one
method with an `except A, B:`, down to the `try` statement's headers). A text is
rewritten once per process (the scan, the analysis and the loads of a module that
another consults each read it). LibCST is imported by the first such file in a
process, never for any other file.
Constructs this module does not rewrite (a `match` statement under Python 3.9) leave
the file unread: POL001 then names the Python it needs.
"""
from __future__ import annotations

import ast
import re
import sys
import tokenize
from typing import List, Optional, Tuple

from .text import line_starts

RUNNING = sys.version_info[:2]

# What each construct needs: (the Python that reads it, what it is).
TYPE_STATEMENT = ((3, 12), "PEP 695 type statement")
TYPE_PARAMETERS = ((3, 12), "PEP 695 type parameters")
TYPE_DEFAULTS = ((3, 13), "PEP 696 type parameter defaults")
FSTRING = ((3, 12), "PEP 701 f-string")
EXCEPT_TUPLE = ((3, 14), "PEP 758 except without parentheses")
TSTRING = ((3, 14), "PEP 750 template string")
MATCH = ((3, 10), "PEP 634 match statement")
EXCEPT_STAR = ((3, 11), "PEP 654 except*")
# The constructs rewritten here (a test takes one out to see the message of one that is not).
REWRITTEN = {TYPE_STATEMENT, TYPE_PARAMETERS, TYPE_DEFAULTS, FSTRING, EXCEPT_TUPLE, TSTRING}

Needs = Tuple[Tuple[int, int], str, int, int]  # (version, what, row, 1-based column)
Edit = Tuple[int, int, str]  # (start offset, end offset, new text) in the original text


def version_text(version: Tuple[int, int]) -> str:
    return "%d.%d" % version


def parse(text: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, reading newer syntax through `reparse`. Raises SyntaxError as
    `ast.parse` does."""
    try:
        return ast.parse(text, filename=filename, type_comments=False)
    except SyntaxError as exc:
        return reparse(text, filename, exc)


def reparse(text: str, filename: str, error: SyntaxError) -> ast.Module:
    """The tree of a text that `ast.parse` rejected with `error`, through `downgrade`.
    Raises a SyntaxError when there is none: `error` itself if LibCST cannot read the
    text either, with `.needs` (Needs) when a construct newer than the running Python
    is why; the running parser's error on the rewritten text (at the same place in the
    original) when LibCST lets through what CPython rejects."""
    new_text, needs, tree = _rewrite(text, filename)
    if new_text is None:
        if needs is None:
            raise error
        error.needs = needs  # type: ignore[attr-defined]
        raise error
    if tree is not None:
        return tree
    return ast.parse(new_text, filename=filename, type_comments=False)


def downgrade(text: str) -> Optional[Tuple[Optional[str], Optional[Needs]]]:
    """(the text rewritten for the running parser, None) or (None, what a construct not
    rewritten here needs); None when LibCST cannot read the text (or is not installed).
    LibCST reads only the module-level statements the running parser rejects, each on its
    own (the statements as the tokenizer finds them, decorators with what they decorate),
    and of each only what the running parser rejects (`_reduced`); the whole text where
    the tokenizer finds none, or a statement does not read alone. A text is rewritten
    once per process (the scan, the analysis and the project's loads each read it)."""
    found = _rewrite(text)
    return found[:2] if found[0] is not None or found[1] is not None else None


def _rewrite(text: str, filename: str = "<unknown>"):
    """`downgrade`'s answer, and the tree of the rewritten text where it was parsed here
    (a fresh one: the analysis fills a lazily parsed tree in place), else None."""
    key = (text, RUNNING, frozenset(REWRITTEN))
    found = _MEMO.get(key, _MEMO)
    if found is not _MEMO:
        return (found[0], found[1], None) if found is not None else (None, None, None)
    # Reading only what the running parser rejects stands for reading whole statements
    # where the running parser is the Python the rewrite is for (a test sets RUNNING to
    # an older one: what this parser reads may then hold what that one would not) and
    # where the text it gives is read by that parser; else the whole statements are
    # read (as where a line break is a lone carriage return). A statement that LibCST
    # cannot read in part, or that holds a construct not rewritten, is read whole
    # (`_by_pieces`), so an answer with no text is the one reading whole statements gives.
    found = tree = None
    if RUNNING == sys.version_info[:2] and ("\r" not in text or text.count("\r") == text.count("\r\n")):
        found = _by_pieces(text, reduce=True)
        if found is not None and found[0] is not None:
            try:
                tree = ast.parse(found[0], filename=filename, type_comments=False)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                found = _by_pieces(text, reduce=False)
    else:
        found = _by_pieces(text, reduce=False)
    _remember(key, found)
    return (found[0], found[1], tree) if found is not None else (None, None, None)


def _remember(key, found) -> None:
    if len(_MEMO) >= 256:
        _MEMO.clear()
    _MEMO[key] = found


# downgrade's answers by text (with what decides them: tests change RUNNING, REWRITTEN)
_MEMO: dict = {}


def _by_pieces(text: str, reduce: bool) -> Optional[Tuple[Optional[str], Optional[Needs]]]:
    """`downgrade`: each module-level statement the running parser rejects through
    LibCST, whole or (`reduce`) only what the running parser rejects of it."""
    lines = _LINES.findall(text) if reduce else None
    pieces = _pieces(text, lines)
    if pieces is None:
        return _downgrade(text)
    tokens, pieces = pieces
    out: List[str] = []
    needs: Optional[Needs] = None
    for first, piece, a, b in pieces:
        try:
            ast.parse(piece, type_comments=False)
        except SyntaxError:
            pass
        except (ValueError, RecursionError, MemoryError):
            return _downgrade(text)
        else:
            out.append(piece)
            continue
        found = None
        if reduce and a is not None:
            new = _reduced(tokens, lines, a, b, first, first + len(_LINES.findall(piece)) - 1)
            if new is not None:
                found = new, None
        if found is None:
            found = _downgrade(piece)
        if found is None:  # not a statement alone (a tokenizer older than the file cut it wrong)
            return _downgrade(text)
        new, need = found
        if need is not None:
            need = (need[0], need[1], need[2] + first - 1, need[3])
            if needs is None or need[0] > needs[0]:
                needs = need
        out.append(new if new is not None else piece)
    if needs is not None:
        return None, needs
    return "".join(out), None


_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")  # a text's lines (one with no lone carriage return)


def _pieces(text: str, lines: Optional[List[str]] = None):
    """The tokens of the text and (first line, text, first token, end token) of each
    module-level statement (clauses and comments with it, decorators with what
    follows: the tokens from its first to the next statement's first; None for the
    comment lines above the first statement); None where the tokenizer finds none.
    With the text's `lines`, where the tokenizer stops at a line break in a field of a
    one-line f-string, those of the text `_patched` gives (the same lines)."""
    from .statements import _CLAUSES, _Tokens

    try:
        tokens = _Tokens(text)
    except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
        patched = _patched(text, lines) if lines is not None else None
        if patched is None:
            return None
        try:
            tokens = _Tokens(patched)
        except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):  # pragma: no cover
            return None
    strings = tokens.strings
    lines = {1: None}
    decorated = False
    for at in tokens.starts(0, len(tokens.kinds), 0):
        word = strings[at]
        if word not in _CLAUSES and not decorated:
            lines[tokens.lines[at]] = at
        decorated = word == "@"
    starts = line_starts(text)
    count = len(starts) - 1  # lines
    bounds = sorted({min(line, count + 1) - 1 for line in lines} | {count})
    firsts = [lines.get(bounds[k] + 1) for k in range(len(bounds) - 1)]
    ends = [next((t for t in firsts[k + 1:] if t is not None), len(tokens.kinds)) for k in range(len(firsts))]
    return tokens, [(bounds[k] + 1, text[starts[bounds[k]]:starts[bounds[k + 1]]], firsts[k], ends[k])
                    for k in range(len(bounds) - 1)]


def _patched(text: str, lines: List[str]) -> Optional[str]:
    """For a text the running tokenizer rejects where a PEP 701 f-string in one-line
    quotes has a line break in a field (`f"-{` then the field on lines of its own, as
    formatters write it for 3.12): the text with each such simple statement a `pass`
    on its first line, its other lines empty, so that the tokenizer lays out the rest
    (what LibCST then reads is the original text). The statement is the shortest run of
    lines from the start of the logical line where the tokenizer stopped that LibCST
    reads as a statement; None where there is none (a real error, a block's header), or
    where the tokenizer is not the C one."""
    from .statements import FAST, _CTokens

    if not FAST:
        return None
    patched = None
    for _ in range(16):  # statements to patch, at most
        current = patched if patched is not None else text
        start, after = 1, False
        try:
            for token in _CTokens(current):
                kind = token[1]
                if kind == 4:  # NEWLINE: the next logical line starts at the next token
                    after = True
                elif after and kind != 5 and kind != 6:  # not an INDENT or DEDENT
                    start, after = token[2], False
            return patched
        except SyntaxError as exc:
            error, column, message = exc.lineno or 0, exc.offset or 0, exc.msg or ""
        except (ValueError, RecursionError, MemoryError):
            return None
        if after:  # the logical line starts with what the tokenizer rejects
            start = error
        if not 1 <= start <= error <= len(lines) or not message.startswith("unterminated string literal") \
                or not _FIELD_OPEN.match(lines[error - 1], max(column - 1, 0)):
            return None
        import libcst as cst

        head = lines[start - 1]
        indent = head[:len(head) - len(head.lstrip(" \t\f"))]
        for end in range(error + 1, min(error + 100, len(lines)) + 1):  # the statement's last line
            try:
                cst.parse_module(("if 1:\n" if indent else "") + "".join(lines[start - 1:end]))
            except cst.ParserSyntaxError:
                continue
            except (ValueError, RecursionError, MemoryError, TypeError):  # pragma: no cover - as _downgrade
                return None
            break
        else:
            return None
        segments = _LINES.findall(current)
        segments[start - 1:end] = [indent + "pass\n"] + ["\n"] * (end - start)
        patched = "".join(segments)
    return None


# An f-string or t-string (any prefix) whose line ends inside a replacement field (from
# its quote: a tokenizer older than 3.14 takes a t-string's `t` for a name).
_FIELD_OPEN = re.compile(r"(?:[rRbBuU]?[fFtT][rR]?)?(['\"]).*\{\s*(#.*)?$", re.S)


def _reduced(tokens, lines: List[str], a: int, b: int, first: int, last: int) -> Optional[str]:
    """A rejected module-level statement (tokens a..b, lines first..last) rewritten with
    LibCST reading only what the running parser rejects of it: of a compound statement,
    its headers (decorators, `class C[T](...):`, `except A, B:`) and, one level in, the
    statements that the running parser rejects on their own, the same way down; each
    statement it reads stands for a `pass` (the blocks stay blocks). The rewrite keeps
    every line, and what it rewrites in a header or a statement depends on nothing
    around it, so the lines LibCST reads are rewritten as in the whole statement. None
    where LibCST cannot read that (or a construct it meets is not rewritten here): the
    caller then gives LibCST the whole statement."""
    kept: List[Tuple[int, str]] = []  # (line, text) of the text LibCST reads; line 0 for a `pass`
    if not _keep(tokens, lines, a, b, first, last, kept):
        return None
    found = _downgrade("".join(text for _, text in kept))
    if found is None or found[1] is not None:
        return None
    new = _LINES.findall(found[0])
    if len(new) != len(kept):  # pragma: no cover - a rewrite keeps every line
        return None
    out = lines[first - 1:last]
    for (line, _), text in zip(kept, new):
        if line:
            out[line - first] = text
    return "".join(out)


def _keep(tokens, lines: List[str], a: int, b: int, first: int, last: int, kept) -> bool:
    """Add to `kept` what LibCST must read of a statement the running parser rejects
    (tokens a..b, lines first..last): all of it when it has no indented block, else its
    headers and, of the statements of its blocks, those the running parser rejects
    (each with its clauses, decorators with what follows: the same way down), a `pass`
    for those it reads. False where the tokenizer's lines do not fit."""
    from .statements import _CLAUSES

    inner = tokens.starts(a, b, 1)
    if not inner:
        kept.extend((line, lines[line - 1]) for line in range(first, last + 1))
        return True
    strings, at_line = tokens.strings, tokens.lines
    inside = set(inner)
    marks = sorted(tokens.starts(a, b, 0) + inner)
    if not marks or marks[0] != a or at_line[a] != first:
        return False
    count = len(marks)
    k = 0
    while k < count:
        at = marks[k]
        j = k + 1
        if at in inside:  # a statement of a block, with its clauses (decorators with what follows)
            decorated = strings[at] == "@"
            while j < count and marks[j] in inside and (decorated or strings[marks[j]] in _CLAUSES):
                decorated = strings[marks[j]] == "@"
                j += 1
        start = at_line[at]
        end = at_line[marks[j]] - 1 if j < count else last
        if end < start or end > last:
            return False
        if at not in inside:  # a header (with the comment lines after it)
            kept.extend((line, lines[line - 1]) for line in range(start, end + 1))
        else:
            text = "".join(lines[start - 1:end])
            try:
                ast.parse("if 1:\n" + text, type_comments=False)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                if not _keep(tokens, lines, at, marks[j] if j < count else b, start, end, kept):
                    return False
            else:
                head = lines[start - 1]
                stub = (0, head[:len(head) - len(head.lstrip(" \t\f"))] + "pass\n")
                if not kept or kept[-1] != stub:
                    kept.append(stub)
        k = j
    return True


def _downgrade(text: str) -> Optional[Tuple[Optional[str], Optional[Needs]]]:
    try:
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider
    except ImportError:  # pragma: no cover - a broken install
        return None
    try:
        module = cst.parse_module(text)
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    except (cst.ParserSyntaxError, ValueError, RecursionError, MemoryError, TypeError):
        return None
    return _Rewriter(cst, text, positions).run(module)


def _ascii_blank(char: str) -> str:
    """Blanks of `char`'s UTF-8 length (a line break stays)."""
    if char in "\r\n":
        return char
    return " " * len(char.encode("utf-8")) if not char.isascii() else " "


def blank(segment: str, head: str = "", continued: bool = True) -> Optional[str]:
    """`segment` blanked byte for byte, `head` written over its first characters (on its
    first line; None if it does not fit) and, with `continued`, a backslash ending each
    of its lines (the blanked lines join: the brackets that held them are gone; on a
    line left empty the backslash is a byte more, where no code is)."""
    text = "".join(_ascii_blank(c) for c in segment)
    lines = [m.group() for m in _LINE.finditer(text)]
    room = len(lines[0].rstrip("\r\n")) - (1 if continued and len(lines) > 1 else 0)
    if len(head) > room:
        return None
    text = head + text[len(head):]
    if not continued or len(lines) == 1:
        return text
    out = []
    for line in (m.group() for m in _LINE.finditer(text)):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        if end:
            body = body[:-1] + "\\" if body.endswith(" ") else body + "\\"
        out.append(body + end)
    return "".join(out)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def placeholder(segment: str) -> str:
    """A parenthesised name no module binds, in place of `segment` (its lines and byte
    lengths kept): `(_   )`, line breaks inside the parentheses."""
    chars = list("".join(_ascii_blank(c) for c in segment))
    spots = [i for i, c in enumerate(chars) if c not in "\r\n"]
    if len(spots) >= 3:
        chars[spots[0]], chars[spots[1]], chars[spots[-1]] = "(", "_", ")"
    elif len(spots) == 2:  # pragma: no cover - no f-string is this short
        chars[spots[0]], chars[spots[1]] = "(", ")"
    return "".join(chars)


class _Rewriter:
    def __init__(self, cst, text: str, positions):
        self.cst = cst
        self.text = text
        self.positions = positions
        self.starts = line_starts(text)
        self.edits: List[Edit] = []
        self.needs: Optional[Needs] = None  # the newest construct not rewritten

    # -- positions ---------------------------------------------------------------------------
    def span(self, node) -> Tuple[int, int]:
        found = self.positions[node]
        starts = self.starts
        return starts[found.start.line - 1] + found.start.column, starts[found.end.line - 1] + found.end.column

    def outer_span(self, node) -> Tuple[int, int]:
        """The span of an expression with its parentheses (`span` leaves them out)."""
        start, end = self.span(node)
        lpar, rpar = getattr(node, "lpar", None), getattr(node, "rpar", None)
        if lpar:
            start = self.span(lpar[0])[0]
        if rpar:
            end = self.span(rpar[-1])[1]
        return start, end

    def _unsupported(self, what, node) -> None:
        found = self.positions[node].start
        if self.needs is None or what[0] > self.needs[0]:
            self.needs = (what[0], what[1], found.line, found.column + 1)

    def _wanted(self, what, node) -> bool:
        """Is `what` newer than the running Python; if so and not rewritten, noted."""
        if what[0] <= RUNNING:
            return False
        if what not in REWRITTEN:
            self._unsupported(what, node)
            return False
        return True

    # -- the walk --------------------------------------------------------------------------------
    def run(self, module) -> Tuple[Optional[str], Optional[Needs]]:
        cst = self.cst
        strings = (cst.FormattedString, cst.TemplatedString)
        stack = [(module, None)]  # (node, the outermost implicit concatenation around it)
        while stack:
            node, concatenation = stack.pop()
            cls = node.__class__
            if cls is cst.ConcatenatedString and concatenation is None:
                concatenation = node
            if isinstance(node, strings):
                self.string(node, concatenation)
                continue  # its fields are the string's business
            if cls is cst.TypeAlias:
                if not self.type_alias(node):
                    continue
            elif cls in (cst.FunctionDef, cst.ClassDef) and node.type_parameters is not None:
                self.type_parameters(node.type_parameters)
            elif cls in (cst.ExceptHandler, cst.ExceptStarHandler):
                self.except_tuple(node)
            elif cls is cst.Match:
                self._wanted(MATCH, node)
            elif cls is cst.TryStar:
                self._wanted(EXCEPT_STAR, node)
            for child in reversed(node.children):
                stack.append((child, concatenation if isinstance(child, (cst.ConcatenatedString,) + strings)
                              else None))
        if self.needs is not None:
            return None, self.needs
        return self.apply(), None

    def apply(self) -> str:
        text = self.text
        out, at = [], 0
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], -e[1])):
            if start < at:  # inside an edit made already (a string in blanked type parameters)
                continue
            out.append(text[at:start])
            out.append(new)
            at = end
        out.append(text[at:])
        return "".join(out)

    # -- PEP 695, 696 ---------------------------------------------------------------------------
    def _defaults(self, parameters) -> bool:
        return any(param.default is not None for param in parameters.params)

    def type_parameters(self, parameters) -> None:
        what = TYPE_DEFAULTS if self._defaults(parameters) else TYPE_PARAMETERS
        if not self._wanted(what, parameters):
            return
        start, end = self.span(parameters)
        segment = self.text[start:end]
        new = blank(segment) if segment[:1] == "[" and segment[-1:] == "]" else None
        if new is None:
            self._unsupported(what, parameters)
            return
        self.edits.append((start, end, new))

    def type_alias(self, node) -> bool:
        """`type X[T] = v` as `X, = v`; False when it cannot be."""
        what = TYPE_DEFAULTS if node.type_parameters is not None and self._defaults(node.type_parameters) \
            else TYPE_STATEMENT
        if not self._wanted(what, node):
            return True
        start, _ = self.span(node)
        value, _ = self.outer_span(node.value)
        name = node.name.value
        new = blank(self.text[start:value], name + ",=")
        if new is None or self.text[start:start + 4] != "type":
            self._unsupported(what, node)
            return False
        self.edits.append((start, value, new))
        return True

    # -- PEP 758 ---------------------------------------------------------------------------------
    def except_tuple(self, handler) -> None:
        cst = self.cst
        kind = handler.type
        if not isinstance(kind, cst.Tuple) or kind.lpar or not self._wanted(EXCEPT_TUPLE, handler):
            return
        text = self.text
        start, end = self.outer_span(kind)
        if start > 0 and text[start - 1] in " \t":
            self.edits.append((start - 1, start, "("))
        else:
            self.edits.append((start, start, "("))
        # `)` before the colon: a blank before the colon, or one after it on the line, or
        # one between the types on the tuple's last line gives it room (else what follows
        # the colon on that line moves by one column).
        after = end
        while after < len(text) and text[after] in " \t":
            after += 1
        if after > end:
            self.edits.append((end, end + 1, ")"))
            return
        colon = after  # text[after] == ":"
        if colon + 1 < len(text) and text[colon + 1] in " \t" and \
                isinstance(handler.body, cst.SimpleStatementSuite):
            self.edits.append((end, colon + 2, "):"))
            return
        if isinstance(handler.body, cst.SimpleStatementSuite):
            line = max(text.rfind("\n", start, end), text.rfind("\r", start, end), start) + 1
            blank_at = max(text.rfind(" ", line, end), text.rfind("\t", line, end))
            if blank_at > start:
                self.edits.append((blank_at, blank_at + 1, ""))
        self.edits.append((end, end, ")"))

    # -- PEP 701, 750 ----------------------------------------------------------------------------
    def string(self, node, concatenation) -> None:
        cst = self.cst
        start, end = self.span(node)
        segment = self.text[start:end]
        template = isinstance(node, cst.TemplatedString)
        if template:
            if not self._wanted(TSTRING, node):
                return
            prefix = node.start.rstrip("'\"").translate(str.maketrans("tT", "fF"))
            segment = prefix + segment[len(prefix):]
        if _reads(segment):
            if template:
                self.edits.append((start, end, segment))
            return
        if not template and not self._wanted(FSTRING, node):
            return
        quote = node.end
        new = list(segment)
        whole = False
        for field in self._fields(node):
            f_start, f_end = self.field_span(field)
            inner = self._requoted(field, quote[0], f_start, f_end)
            if not _field_reads(inner, quote):
                if "\n" in inner or "\r" in inner:
                    if len(quote) == 1:  # a line break in a one-line f-string: the whole string goes
                        whole = True
                        break
                    inner = placeholder(inner)
                else:
                    inner = "_" * len(inner.encode("utf-8"))
            # byte for byte: `inner` stands for the field's characters
            new[f_start - start:f_end - start] = [inner] + [""] * (f_end - f_start - 1)
        if not whole:
            candidate = "".join(new)
            if _reads(candidate):
                self.edits.append((start, end, candidate))
                return
        # The whole string (with the strings implicitly joined to it) becomes a name.
        if concatenation is not None:
            start, end = self.span(concatenation)
        self.edits.append((start, end, placeholder(self.text[start:end])))

    def _fields(self, node):
        """The replacement fields of an f-string or t-string, those in format specs too."""
        cst = self.cst
        todo = list(node.parts)
        while todo:
            part = todo.pop()
            if isinstance(part, (cst.FormattedStringExpression, cst.TemplatedStringExpression)):
                yield part
                todo.extend(part.format_spec or ())

    def field_span(self, field) -> Tuple[int, int]:
        """The text of a field's expression with the blanks and comments around it: from
        its `{` to its `=`, `!`, `:` or `}`."""
        start, _ = self.span(field)
        _, end = self.outer_span(field.expression)
        after = self.cst.Module([]).code_for_node(field.whitespace_after_expression)
        return start + 1, end + len(after)

    def _requoted(self, field, quote: str, start: int, end: int) -> str:
        """The text of a field's expression (`field_span`), each plain string in it that
        uses `quote` given the other quote where its text holds neither quote nor a
        backslash, and its comments blanked."""
        cst = self.cst
        other = "'" if quote == '"' else '"'
        chars = list(self.text[start:end])
        stack = [field.whitespace_before_expression, field.expression, field.whitespace_after_expression]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.SimpleString):
                value = node.value
                body = value[len(node.prefix) + 1:-1]
                if node.quote == quote and quote not in body and other not in body and "\\" not in body:
                    s, e = self.span(node)
                    chars[s - start + len(node.prefix)] = other
                    chars[e - start - 1] = other
                continue
            if isinstance(node, cst.Comment):
                s, e = self.span(node)
                chars[s - start:e - start] = [_ascii_blank(c) for c in chars[s - start:e - start]]
                continue
            if not isinstance(node, (cst.FormattedString, cst.TemplatedString)):  # its own quotes
                stack.extend(node.children)
        return "".join(chars)


def _reads(segment: str) -> bool:
    """Does the running parser read this string literal on its own?"""
    try:
        ast.parse("(\n" + segment + "\n)", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _field_reads(expression: str, quote: str) -> bool:
    """Can `expression` be a replacement field of a `quote` f-string under Python 3.11?"""
    if "\\" in expression or "#" in expression or quote[0] in expression:
        return False
    return len(quote) == 3 or ("\n" not in expression and "\r" not in expression)
