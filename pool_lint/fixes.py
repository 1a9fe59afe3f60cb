"""Fixes: keyword arguments inserted, removed or given a new value, leaving every other
byte alone (SPEC 7).

Rules describe *what* to change on a call (`KeywordFix`, on the `ast.Call` the analysis
saw). *How* is LibCST's job (`cstfix`): the call is found in a concrete syntax tree of its
statement and rewritten there, following the call's own layout (parenthesised arguments,
comments, trailing commas, backslash continuations, form feeds, CRLF, tabs all kept by
construction). This module never imports LibCST itself: `Planner` loads `cstfix` the
first time a file has a fix to offer or apply, so an analysis that offers none pays
nothing for it.

Where a call stands (`Place`: its position and the statements around it that LibCST may
parse) is worked out here from the `ast` tree, without LibCST, so that the process that
analyses a file need not load it: in a run, the workers say where each fix goes
(`Planner.request`) and one process makes and checks the edits (`settle`), with one
LibCST for the whole run: the worker given the files that can offer a fix, or the main
process.

Every change is checked before anything is offered or written: the result must parse
and its AST must equal the original AST with exactly the planned keyword changes (the
safety net, and the property tests' oracle). A fix that fails the check, or that LibCST
cannot make, is not offered: its finding has no `fix`, is not counted as fixable, and
`--fix` leaves its call alone.
"""
from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .analysis.downgrade import parse as _parse
from .analysis.text import NEWLINE as _NEWLINE, char_column, line_starts, smallest_edit
from .findings import Edit, Fix, FixError

TextEdit = Tuple[int, int, str]  # (start offset, end offset, new text) into the source text


@dataclass(frozen=True, eq=False)
class KeywordFix:
    """What a rule wants changed on one call (or keys added to one dict literal of
    engine options, SPEC 3c: `call` is then the `ast.Dict`, and only `insert` applies)."""

    call: ast.AST
    applicability: str  # "safe" | "unsafe"
    message: str
    insert: Tuple[Tuple[str, str], ...] = ()  # (keyword, value source), in insertion order
    remove: Tuple[str, ...] = ()
    replace: Tuple[Tuple[str, str], ...] = ()


# -- what changes ----------------------------------------------------------------------------
@dataclass(eq=False)
class MergedFix:
    call: ast.Call
    insert: Tuple[Tuple[str, str], ...] = ()
    remove: Tuple[str, ...] = ()
    replace: Tuple[Tuple[str, str], ...] = ()

    def effective(self) -> "MergedFix":
        """Only what changes the call: no insertion of a keyword it has (or keeps), no
        removal or new value of one it lacks."""
        present = _names(self.call)
        remove = tuple(n for n in self.remove if n in present)
        kept = present - set(remove)
        return MergedFix(self.call, tuple((n, v) for n, v in self.insert if n not in kept), remove,
                         tuple((n, v) for n, v in self.replace if n in kept))

    def __bool__(self) -> bool:
        return bool(self.insert or self.remove or self.replace)


def merge(fixes: Sequence[KeywordFix], order: Sequence[str] = ()) -> List[MergedFix]:
    """Group the fixes of one file by call; insertions sorted by `order` (SPEC 4).
    Removals and insertions on one call are made together (insertions after the
    arguments that stay)."""
    rank = {name: i for i, name in enumerate(order)}
    merged: Dict[int, MergedFix] = {}
    for fix in fixes:
        target = merged.setdefault(id(fix.call), MergedFix(fix.call))
        target.insert += tuple(item for item in fix.insert if item[0] not in dict(target.insert))
        target.remove += tuple(name for name in fix.remove if name not in target.remove)
        target.replace += tuple(item for item in fix.replace if item[0] not in dict(target.replace))
    for target in merged.values():
        target.insert = tuple(sorted(target.insert, key=lambda item: rank.get(item[0], len(rank))))
    return [m.effective() for m in merged.values()]


# -- the safety net --------------------------------------------------------------------------
def _names(node: ast.AST) -> set:
    """The keywords a call has, or the string keys a dict literal has."""
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return {k.arg for k in node.keywords if k.arg is not None}


def _key(call: ast.AST) -> tuple:
    return (call.lineno, call.col_offset, call.end_lineno, call.end_col_offset)


def _value_tree(value: str) -> ast.expr:
    return ast.parse(value, mode="eval").body


def expected_dump(tree: ast.AST, changes: Dict[tuple, MergedFix]) -> str:
    """`ast.dump` of `tree` with exactly the planned keyword changes on the calls at the
    given positions (changed in place for the dump, then restored: no copy of the tree)."""
    saved = []
    try:
        for node in ast.walk(tree):
            if node.__class__ is ast.Dict:
                change = changes.get(_key(node))
                if change is not None:
                    if change.remove or change.replace:
                        raise FixError("only keys can be added to a dict")
                    saved.append((node, (node.keys, node.values)))
                    present = _names(node)
                    added = [(n, v) for n, v in change.insert if n not in present]
                    node.keys = node.keys + [ast.Constant(value=n) for n, _ in added]
                    node.values = node.values + [_value_tree(v) for _, v in added]
                continue
            if node.__class__ is not ast.Call:
                continue
            change = changes.get(_key(node))
            if change is None:
                continue
            saved.append((node, node.keywords))
            keywords = []
            for keyword in node.keywords:
                if keyword.arg in change.remove:
                    continue
                value = dict(change.replace).get(keyword.arg)
                keywords.append(keyword if value is None else ast.keyword(arg=keyword.arg, value=_value_tree(value)))
            existing = {k.arg for k in keywords}
            keywords += [ast.keyword(arg=n, value=_value_tree(v)) for n, v in change.insert if n not in existing]
            node.keywords = keywords
        if len(saved) != len(changes):
            raise FixError("a call to fix is not in the tree")
        return ast.dump(tree)
    finally:
        for node, keywords in saved:
            if node.__class__ is ast.Dict:
                node.keys, node.values = keywords
            else:
                node.keywords = keywords


def verify(tree: ast.AST, new_text: str, changes: Dict[tuple, MergedFix], new_tree: Optional[ast.AST] = None) -> None:
    """Raise FixError unless `new_text` parses to `tree` with exactly `changes`
    (`new_tree`: its tree, where the caller has parsed it already)."""
    if new_tree is None:
        try:
            new_tree = _parse(new_text)  # newer syntax read as the analysis reads it (downgrade)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise FixError(f"the fixed code would not parse ({getattr(exc, 'msg', exc)})") from None
    if ast.dump(new_tree) != expected_dump(tree, changes):
        raise FixError("the fixed code would differ from the intended keyword change")


# -- where a call stands ----------------------------------------------------------------------
class Place(NamedTuple):
    """Where a call to fix stands: what cstfix.Document needs to choose the lines LibCST
    parses around it, worked out from the `ast` tree (Places). The call's `ast` position
    (columns in UTF-8 bytes); the statements around it that own their lines (nothing else
    on their first and last lines), innermost first, as (first, last) lines, decorators
    included; and the module-level statements holding it, with those that share their
    lines, as (first, last), or why there are none."""

    lineno: int
    col_offset: int
    end_lineno: int
    end_col_offset: int
    inner: Tuple[Tuple[int, int], ...] = ()
    outer: Union[Tuple[int, int], str] = "the call is outside every statement"


def _statement_lines(node: ast.stmt) -> Tuple[int, int]:
    first = node.lineno
    for decorator in getattr(node, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return first, node.end_lineno or node.lineno


def _body_index(body: Sequence[ast.stmt]) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int]]]:
    """Each statement's lines, and the (first line, column) its call is searched by."""
    lines = [_statement_lines(s) for s in body]
    return lines, [(first, s.col_offset) for (first, _), s in zip(lines, body)]


def _outer(body: Sequence[ast.stmt], call: ast.Call, index) -> Tuple[int, int]:
    """Lines (first, last; 1-based) of the module-level statements holding `call`, with
    every statement that shares a line with them (`a = 1; e = create_engine(x)`).
    `index`: _body_index(body)."""
    lines, keys = index
    i = bisect.bisect_right(keys, (call.lineno, call.col_offset)) - 1
    if i < 0:
        raise FixError("the call is outside every statement")
    first, last = lines[i]
    j = i
    while i > 0 and lines[i - 1][1] >= first:
        i -= 1
        first = min(first, lines[i][0])
    while j + 1 < len(body) and lines[j + 1][0] <= last:
        j += 1
        last = max(last, lines[j][1])
    if call.lineno < first or (call.end_lineno or call.lineno) > last:
        raise FixError("the call is outside its statement")
    return first, last


class Places:
    """The places of one file's calls (`ancestors(node)`: its enclosing nodes, innermost
    first; None: no statement inside a block is parsed alone)."""

    def __init__(self, text: str, body: Sequence[ast.stmt], ancestors=None):
        self.text, self.body, self.ancestors = text, body, ancestors
        self.starts = line_starts(text)
        self._index: Optional[tuple] = None  # _body_index(body), made once
        self._top: Optional[set] = None

    def of(self, call: ast.Call) -> Place:
        if self._index is None:
            self._index = _body_index(self.body)
        try:
            outer: Union[Tuple[int, int], str] = _outer(self.body, call, self._index)
        except FixError as exc:
            outer = str(exc)
        return Place(call.lineno, call.col_offset, call.end_lineno, call.end_col_offset, tuple(self._inner(call)),
                     outer)

    def _inner(self, call: ast.Call):
        """The statements around the call, inside a module-level one, that own their lines."""
        if self.ancestors is None:
            return
        if self._top is None:
            self._top = set(map(id, self.body))
        top, text, starts = self._top, self.text, self.starts
        for node in self.ancestors(call):
            if id(node) in top:
                return
            if not isinstance(node, ast.stmt):
                continue
            first, last = _statement_lines(node)
            line = text[starts[first - 1]:starts[first]]
            indent = len(line) - len(line.lstrip(" \t"))
            head = node.decorator_list[0] if getattr(node, "decorator_list", None) else node
            column = char_column(text, starts, head.lineno, head.col_offset) - (1 if head is not node else 0)
            if column != indent or head.lineno != first:
                continue  # something else before it on its first line (`if x: e = f()`, `a; b`)
            end = text[starts[last - 1]:starts[last] if last < len(starts) else len(text)]
            rest = end[char_column(text, starts, last, node.end_col_offset):].strip()
            if rest and not rest.startswith("#"):
                continue  # something after it on its last line (`a; b`)
            yield first, last


# -- planning and applying -------------------------------------------------------------------
# Per process: (a span's header and text, the call's place in it, the change) -> the edit
# LibCST made and the check passed (offsets from the span's start), or None. Forgotten
# all at once past _EDITS_LIMIT characters of span text in the keys.
_EDITS: Dict[tuple, Optional[TextEdit]] = {}
_EDITS_LIMIT = 1 << 20
_edits_size = 0
_UNKNOWN = object()

# What a finding's fix needs to be made, LibCST aside (Planner.request): the call's place
# and its keyword changes (insertions, removals, new values).
Request = Tuple[Place, Tuple[Tuple[str, str], ...], Tuple[str, ...], Tuple[Tuple[str, str], ...]]


class Planner:
    """The fixes of one file's text: each finding's own edit (what `--fix` would do for
    it alone, checked), and all of them applied together. LibCST is loaded, and the
    statements holding the calls parsed, the first time an edit is asked for. `source`:
    the parsed file; or only its `text`, for edits asked by place (`edit_at`)."""

    def __init__(self, source=None, text: Optional[str] = None):
        self.source = source
        self.text = source.text if source is not None else text
        self._document = None
        self._places: Optional[Places] = None
        self._span_trees: Dict[int, ast.AST] = {}

    @property
    def places(self) -> Places:
        if self._places is None:
            self._places = Places(self.source.text, self.source.tree.body, self.source.ancestors)
        return self._places

    @property
    def document(self):
        if self._document is None:
            try:
                from .cstfix import Document
            except ImportError as exc:  # a broken install: the findings stay, without fixes
                raise FixError(f"LibCST is not available ({exc})") from None
            self._document = Document(self.text)
        return self._document

    def request(self, fix: KeywordFix, order: Sequence[str] = ()) -> Optional[Request]:
        """What `edit` needs to make one finding's edit, worked out without LibCST, or None
        when the fix changes nothing."""
        change = merge([fix], order)[0]
        if not change:
            return None
        return self.places.of(change.call), change.insert, change.remove, change.replace

    def edit(self, fix: KeywordFix, order: Sequence[str] = ()) -> Optional[TextEdit]:
        """The text edit of one finding's fix, or None when it changes nothing or cannot
        be made exactly."""
        found = self.request(fix, order)
        return self.edit_at(*found) if found is not None else None

    def edit_at(self, place: Place, insert=(), remove=(), replace=()) -> Optional[TextEdit]:
        """The text edit of a change to the call at `place` (Planner.request), or None
        when it cannot be made exactly. Edits are asked in the order of the findings: a
        statement parsed for one call serves the next ones it holds."""
        global _edits_size
        change = MergedFix(None, tuple(insert), tuple(remove), tuple(replace))
        try:
            document = self.document
            span = document.span_of(place)
        except FixError:
            return None
        # What LibCST makes of a call, and whether it passes the check, depend only on
        # the span's text, the call's place in it and the change: the same statement met
        # again (in this file or another) gives the same edit, at its own offset.
        key = (span.head, span.text, span.ast_key(place), change.insert, change.remove, change.replace)
        found = _EDITS.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._span_edit(document, span, place, change)
            if _edits_size + len(span.text) > _EDITS_LIMIT:
                _EDITS.clear()
                _edits_size = 0
            _EDITS[key] = found
            _edits_size += len(span.text)
        if found is None:
            return None
        return span.start + found[0], span.start + found[1], found[2]

    def _span_edit(self, document, span, place: Place, change: MergedFix) -> Optional[TextEdit]:
        """One call's edit made by LibCST and checked (offsets from the span's start), or
        None."""
        try:
            start, end, content = document.call_edit(place, change.insert, change.remove, change.replace)
            tree = self._span_trees.get(id(span))
            if tree is None:
                try:
                    tree = self._span_trees[id(span)] = _parse(span.parsed(span.text))
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    raise FixError("the statement does not parse alone") from None
            new_text = span.text[: start - span.start] + content + span.text[end - span.start:]
            verify(tree, span.parsed(new_text), {span.ast_key(place): change})
        except FixError:
            return None
        return start - span.start, end - span.start, content

    def apply(self, fixes: Sequence[KeywordFix], order: Sequence[str] = ()) -> Tuple[str, List[str]]:
        """(the text with every fix that can be made exactly, why the others could not).
        The whole result is checked against the whole tree; when it fails, each call's
        change is tried alone and only those that pass are kept."""
        merged = [m for m in merge(fixes, order) if m]
        if not merged:
            return self.source.text, []
        try:
            return self._rewrite(merged), []
        except FixError as exc:
            if len(merged) == 1:
                return self.source.text, [str(exc)]
        kept, errors = [], []
        for change in merged:
            try:
                self._rewrite([change])
                kept.append(change)
            except FixError as exc:
                errors.append(str(exc))
        if not kept:
            return self.source.text, errors
        try:
            return self._rewrite(kept), errors
        except FixError as exc:  # pragma: no cover - each passed alone
            return self.source.text, errors + [str(exc)]

    def _rewrite(self, changes: Sequence[MergedFix]) -> str:
        new_text = self.document.rewrite([(self.places.of(c.call), c.insert, c.remove, c.replace) for c in changes])
        verify(self.source.tree, new_text, {_key(c.call): c for c in changes})
        return new_text


# -- edits made without LibCST ----------------------------------------------------------------
# Keywords inserted into a call of a module-level statement whose text is plain (ASCII, no
# backslash, tab, form feed, carriage return or comment in the call, the callee a dotted
# name, no argument in parentheses of its own at either end, no generator argument): the
# edit cstfix would make is written out here (`_plain_text`, its layout rules for such a
# call: inline after the last argument when the arguments start on the line of `(`, else
# one keyword per line at the last argument's indentation, a trailing comma exactly when
# the call had one), then checked as cstfix's is. `settle` makes a file's edits this way
# when every one of them can be, so a run whose fixes are all such loads no LibCST;
# tests/test_fixes_plain.py compares both ways over many layouts.
_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_WORD}(?:\.{_WORD})*\Z")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.]+\Z")
_PLAIN_SPAN_LIMIT = 4000  # characters of a statement (and brackets deep) taken this way
_PLAIN_DEPTH_LIMIT = 20


def _plain_span(text: str, starts: Sequence[int], place: Place):
    """(span start, span text) of the module-level statements of a call that holds no
    statement of its own, as cstfix.Span takes them, where that text is plain; else None."""
    if place.inner or isinstance(place.outer, str):
        return None
    first, last = place.outer
    start = starts[first - 1]
    end = starts[last] if last < len(starts) else len(text)
    span = text[start:end]
    if not span or span[0] in " \t\f" or len(span) > _PLAIN_SPAN_LIMIT or not span.isascii() \
            or "\\" in span or "\t" in span or "\f" in span or "\r" in span:
        return None
    depth = deepest = 0
    for char in span:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > _PLAIN_DEPTH_LIMIT:
        return None
    return start, span


def _plain_text(span: str, tree: ast.AST, key: Tuple[int, int, int, int], insert) -> Optional[str]:
    """The span's text with the keywords inserted as cstfix inserts them, or None where
    the call is not plain (see above)."""
    call = next((n for n in ast.walk(tree) if n.__class__ is ast.Call and _key(n) == key), None)
    if call is None or not insert:
        return None
    starts = line_starts(span)

    def at(row: int, column: int) -> int:
        return starts[row - 1] + column

    names = {k.arg for k in call.keywords if k.arg is not None}
    if any(not name.isidentifier() or name in names or not _PLAIN_VALUE.match(value) for name, value in insert):
        return None
    begin, stop = at(call.lineno, call.col_offset), at(call.end_lineno, call.end_col_offset)
    lpar = at(call.func.end_lineno, call.func.end_col_offset)
    if "#" in span[begin:stop] or not _DOTTED.match(span[begin:lpar]) or span[lpar:lpar + 1] != "(" \
            or span[stop - 1:stop] != ")":
        return None
    arguments = sorted(call.args + call.keywords, key=lambda n: (n.lineno, n.col_offset))
    items = [f"{name}={value}" for name, value in insert]
    if not arguments:
        if span[lpar + 1:stop - 1].strip(" \n"):
            return None
        return span[:stop - 1] + ", ".join(items) + span[stop - 1:]
    if any(n.__class__ is ast.GeneratorExp for n in call.args):
        return None
    first_start = at(arguments[0].lineno, arguments[0].col_offset)
    last = arguments[-1]
    last_start, last_end = at(last.lineno, last.col_offset), at(last.end_lineno, last.end_col_offset)
    before, after = span[lpar + 1:first_start], span[last_end:stop - 1]
    if before.strip(" \n") or after.replace(",", "", 1).strip(" \n"):
        return None  # a parenthesis of an argument's own, or what else cannot be between
    comma = after.find(",")
    if "\n" not in before and "\n" not in span[first_start:last_start]:  # inline
        if comma >= 0:  # `f(a, b,)` -> `f(a, b, k=v,)`
            point = last_end + comma + 1
            return span[:point] + " " + ", ".join(items) + "," + span[point:]
        return span[:last_end] + ", " + ", ".join(items) + span[last_end:]
    line_start = span.rfind("\n", 0, last_start) + 1
    line = span[line_start:last_start]
    indent = line[:len(line) - len(line.lstrip(" "))]
    if comma >= 0:
        point = last_end + comma + 1
        rest = span[point:stop - 1]
        if "\n" in rest:  # after the first line break after the comma
            point += rest.index("\n") + 1
            return span[:point] + "".join(indent + item + ",\n" for item in items) + span[point:]
        return span[:point] + "".join("\n" + indent + item + "," for item in items) + span[point:]
    if "\n" in after:
        point = last_end + after.index("\n") + 1
        return span[:last_end] + "," + span[last_end:point] + indent + (",\n" + indent).join(items) + "\n" \
            + span[point:]
    return span[:last_end] + ",\n" + indent + (",\n" + indent).join(items) + span[last_end:]


def _plain_edit(text: str, starts: Sequence[int], request, trees: Optional[Dict[str, ast.AST]] = None) -> object:
    """The edit of one request (Planner.request's answer) made without LibCST: a
    TextEdit, None where it fails the check (as cstfix's would), or _UNKNOWN where the
    call is not plain (cstfix must make it). `trees`: the statements' trees parsed for
    the requests before (the findings of one call ask about the same statement)."""
    place, insert, remove, replace = request
    if remove or replace:
        return _UNKNOWN
    found = _plain_span(text, starts, place)
    if found is None:
        return _UNKNOWN
    start, span = found
    key = (place.lineno - (place.outer[0] - 1), place.col_offset,
           place.end_lineno - (place.outer[0] - 1), place.end_col_offset)
    tree = trees.get(span) if trees is not None else None
    if tree is None:
        try:
            tree = ast.parse(span)  # what the running parser rejects goes to cstfix (and downgrade)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return _UNKNOWN
        if trees is not None:
            trees[span] = tree
    new = _plain_text(span, tree, key, tuple(insert))
    if new is None:
        return _UNKNOWN
    try:
        new_tree = ast.parse(new)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _UNKNOWN  # (never seen) cstfix's way, which reads newer syntax through LibCST
    try:
        verify(tree, new, {key: MergedFix(None, tuple(insert))}, new_tree)
    except FixError:
        return None
    head, end, added = smallest_edit(span, new)
    return start + head, start + end, added


# What the analysis of a file leaves `settle` to make (FileResult.offers): the
# file's text, and per finding whose fix is to be offered, in the order the checker asked
# for them, (the finding's index among the file's findings, the fix's applicability, its
# message, then Planner.request's answer).
Offers = Tuple[str, Tuple[tuple, ...]]


def settle(result) -> None:
    """Make the edits a worker left to make (`result.offers`, a FileResult's), in this
    process: a finding is given its fix only where the edit is made and passes the
    check, as Planner.edit would have given it where the file was analysed (one
    LibCST, loaded here, serves the whole run)."""
    offers, result.offers = result.offers, None
    if offers is None:
        return
    text, requests = offers
    starts = line_starts(text)
    trees: Dict[str, ast.AST] = {}
    edits = [_plain_edit(text, starts, request[3:], trees) for request in requests]
    if any(edit is _UNKNOWN for edit in edits):  # LibCST makes them all (one Document)
        planner = Planner(text=text)
        edits = [planner.edit_at(*request[3:]) for request in requests]
    findings = result.findings
    for (index, applicability, message, *_), edit in zip(requests, edits):
        if edit is not None:
            findings[index] = findings[index]._replace(fix=Fix(applicability, message, to_edits(text, [edit])))


_STARTS: Tuple[Optional[str], List[int]] = (None, [])  # the last text to_edits counted the lines of


def to_edits(text: str, edits: Sequence[TextEdit]) -> Tuple[Edit, ...]:
    """Text edits as 1-based (row, column) Edit records for reporters, lines counted as
    Python counts them."""
    import bisect

    global _STARTS
    if _STARTS[0] is not text:  # one file's findings ask in turn: its lines are counted once
        _STARTS = (text, [0] + [m.end() for m in _NEWLINE.finditer(text)])
    starts = _STARTS[1]

    def position(offset: int):
        row = bisect.bisect_right(starts, offset) - 1
        return row + 1, offset - starts[row] + 1

    out = []
    for start, end, content in sorted(edits):
        (r1, c1), (r2, c2) = position(start), position(end)
        out.append(Edit(r1, c1, r2, c2, content))
    return tuple(out)
