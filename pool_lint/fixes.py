"""Fixes: keyword arguments inserted, removed or given a new value, as text edits that
leave every other byte alone (SPEC 7).

Rules describe *what* to change on a call (`KeywordFix`); this module decides *how*,
following the call's own layout, and applies the edits:

- one-line call: `, name=value` after the last argument;
- multi-line call: one keyword per line after the last argument's line, at its
  indentation, keeping the trailing-comma style and the place of the closing parenthesis;
- a removed keyword takes its separator with it (its whole line, in a one-per-line call).

`apply_fixes` checks its own work: the result must parse and its AST must equal the
original AST with exactly the planned keyword changes; otherwise nothing is changed.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .findings import Edit

TextEdit = Tuple[int, int, str]  # (start offset, end offset, new text) into the source text


@dataclass(frozen=True, eq=False)
class KeywordFix:
    """What a rule wants changed on one call."""

    call: ast.Call
    applicability: str  # "safe" | "unsafe"
    message: str
    insert: Tuple[Tuple[str, str], ...] = ()  # (keyword, value source), in insertion order
    remove: Tuple[str, ...] = ()
    replace: Tuple[Tuple[str, str], ...] = ()


class FixError(Exception):
    """A planned fix that would not give the intended code; the file is left alone."""


# -- scanning the gaps between arguments ---------------------------------------------------
def _skip_trivia(text: str, pos: int, stop: int, skip: str = " \t\r\n\\)") -> int:
    """Skip whitespace, comments, line continuations (and closing parens of a parenthesized
    argument) from `pos`; return the first offset holding something else (or `stop`)."""
    while pos < stop:
        ch = text[pos]
        if ch == "#":
            newline = text.find("\n", pos, stop)
            pos = stop if newline < 0 else newline
        elif ch in skip:
            pos += 1
        else:
            return pos
    return stop


class CallLayout:
    """Offsets of a call's parentheses and arguments in the source text."""

    def __init__(self, source, call: ast.Call):
        self.source = source
        self.text = source.text
        self.call = call
        args: List[ast.AST] = list(call.args) + list(call.keywords)
        args.sort(key=lambda n: (n.lineno, n.col_offset))
        self.args = args
        self.close = source.offset(*source.end(call)) - 1  # the ")"
        func_end = source.offset(*source.end(call.func))
        self.open = self.text.index("(", _skip_trivia(self.text, func_end, self.close))

    def start(self, node) -> int:
        return self.source.offset(*self.source.start(node))

    def end(self, node) -> int:
        return self.source.offset(*self.source.end(node))

    def gap_end(self, index: int) -> int:
        return self.start(self.args[index + 1]) if index + 1 < len(self.args) else self.close

    def comma_after(self, index: int) -> Optional[int]:
        pos = _skip_trivia(self.text, self.end(self.args[index]), self.gap_end(index))
        return pos if pos < self.gap_end(index) and self.text[pos] == "," else None

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        """Offset of the line break ending the line that holds `pos` (before "\\r\\n")."""
        newline = self.text.find("\n", pos)
        if newline < 0:
            return len(self.text)
        return newline - 1 if newline > 0 and self.text[newline - 1] == "\r" else newline

    def newline(self, pos: int) -> str:
        end = self.line_end(pos)
        return "\r\n" if self.text.startswith("\r\n", end) else "\n"

    def indent(self, pos: int) -> str:
        start = self.line_start(pos)
        line = self.text[start:pos]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def rest_is_trivia(self, pos: int) -> bool:
        """Only whitespace or a comment between `pos` and the end of its line."""
        end = self.line_end(pos)
        segment = self.text[pos:end].lstrip(" \t")
        return segment == "" or segment.startswith("#")

    def multi_line(self) -> bool:
        if not self.args:
            return False
        return self.text.count("\n", self.open, self.start(self.args[-1])) > 0

    def own_line(self, index: int) -> bool:
        """The argument stands alone on its line(s): nothing before it, only a comma and a
        comment after it."""
        start = self.start(self.args[index])
        if self.text[self.line_start(start):start].strip(" \t") != "":
            return False
        after = self.comma_after(index)
        after = after + 1 if after is not None else self.end(self.args[index])
        return self.rest_is_trivia(after)


def _keyword(call: ast.Call, name: str) -> Optional[ast.keyword]:
    return next((k for k in call.keywords if k.arg == name), None)


def plan(source, fix: "KeywordFix | MergedFix") -> List[TextEdit]:
    """Text edits for one call's keyword changes."""
    layout = CallLayout(source, fix.call)
    edits: List[TextEdit] = []
    removed = {name for name in fix.remove if _keyword(fix.call, name) is not None}
    for name, value in fix.replace:
        keyword = _keyword(fix.call, name)
        if keyword is not None and name not in removed:
            edits.append((layout.start(keyword.value), layout.end(keyword.value), value))
    if removed:
        edits += _plan_removals(layout, removed)
    inserts = [(n, v) for n, v in fix.insert if _keyword(fix.call, n) is None]
    if inserts:
        if removed:
            raise FixError("insertions and removals on one call are applied in two passes")
        edits += _plan_insertions(layout, inserts)
    return edits


def _plan_insertions(layout: CallLayout, items: Sequence[Tuple[str, str]]) -> List[TextEdit]:
    words = [f"{name}={value}" for name, value in items]
    if not layout.args:
        return [(layout.open + 1, layout.open + 1, ", ".join(words))]
    last = len(layout.args) - 1
    last_end = layout.end(layout.args[last])
    trailing = layout.comma_after(last)
    if not layout.multi_line():
        if trailing is not None:
            return [(trailing + 1, trailing + 1, "".join(f" {w}," for w in words))]
        return [(last_end, last_end, "".join(f", {w}" for w in words))]
    indent = layout.indent(layout.start(layout.args[last]))
    anchor = trailing + 1 if trailing is not None else last_end
    newline = layout.newline(anchor)
    lines = [newline + indent + w + ("," if trailing is not None or i < len(words) - 1 else "")
             for i, w in enumerate(words)]
    edits: List[TextEdit] = []
    if trailing is None:
        edits.append((last_end, last_end, ","))
    if layout.rest_is_trivia(anchor):
        at = layout.line_end(anchor)
        edits.append((at, at, "".join(lines)))
    else:
        edits.append((anchor, anchor, "".join(lines)))
    return edits


def _plan_removals(layout: CallLayout, names) -> List[TextEdit]:
    args = layout.args
    doomed = [i for i, a in enumerate(args) if isinstance(a, ast.keyword) and a.arg in names]
    edits: List[TextEdit] = []
    had_trailing = layout.comma_after(len(args) - 1) is not None
    if layout.multi_line() and all(layout.own_line(i) for i in doomed):
        for i in doomed:
            start = layout.line_start(layout.start(args[i]))
            comma = layout.comma_after(i)
            end = layout.line_end(comma + 1 if comma is not None else layout.end(args[i]))
            end += len(layout.newline(end))
            edits.append((start, end, ""))
        kept = [i for i in range(len(args)) if i not in doomed]
        if kept and not had_trailing and kept[-1] < len(args) - 1:
            comma = layout.comma_after(kept[-1])
            if comma is not None:
                edits.append((comma, comma + 1, ""))
        return edits
    # Inline: remove each run of neighbouring doomed arguments with one separator.
    runs: List[List[int]] = []
    for i in doomed:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        first, final = run[0], run[-1]
        if first > 0:
            edits.append((layout.end(args[first - 1]), layout.end(args[final]), ""))
        elif final < len(args) - 1:
            edits.append((layout.start(args[first]), layout.start(args[final + 1]), ""))
        else:
            edits.append((layout.start(args[first]), layout.close, ""))
    return edits


# -- merging and applying ------------------------------------------------------------------
@dataclass(eq=False)
class MergedFix:
    call: ast.Call
    insert: Tuple[Tuple[str, str], ...] = ()
    remove: Tuple[str, ...] = ()
    replace: Tuple[Tuple[str, str], ...] = ()


def merge(fixes: Sequence[KeywordFix], order: Sequence[str] = ()) -> List[MergedFix]:
    """Group the fixes of one file by call; insertions sorted by `order` (SPEC 4)."""
    rank = {name: i for i, name in enumerate(order)}
    merged: Dict[int, MergedFix] = {}
    for fix in fixes:
        target = merged.setdefault(id(fix.call), MergedFix(fix.call))
        target.insert += tuple(item for item in fix.insert if item[0] not in dict(target.insert))
        target.remove += tuple(name for name in fix.remove if name not in target.remove)
        target.replace += tuple(item for item in fix.replace if item[0] not in dict(target.replace))
    for target in merged.values():
        target.insert = tuple(sorted(target.insert, key=lambda item: rank.get(item[0], len(rank))))
        if target.remove and target.insert:
            target.insert = ()  # removals first; the next pass inserts
    return list(merged.values())


def apply_text_edits(text: str, edits: Sequence[TextEdit]) -> str:
    ordered = sorted(edits, key=lambda e: (e[0], e[1]))
    for (s1, e1, _), (s2, e2, _) in zip(ordered, ordered[1:]):
        if s2 < e1:
            raise FixError("overlapping edits")
    out, pos = [], 0
    for start, end, content in ordered:
        out.append(text[pos:start])
        out.append(content)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def to_edits(source, edits: Sequence[TextEdit]) -> Tuple[Edit, ...]:
    """Text edits as 1-based (row, column) Edit records for reporters."""
    starts = source._line_starts

    def position(offset: int):
        import bisect

        row = bisect.bisect_right(starts, offset) - 1
        row = min(max(row, 0), max(len(source.lines) - 1, 0))
        return row + 1, offset - starts[row] + 1

    out = []
    for start, end, content in sorted(edits):
        (r1, c1), (r2, c2) = position(start), position(end)
        out.append(Edit(r1, c1, r2, c2, content))
    return tuple(out)


def expected_tree(tree: ast.Module, changes: Sequence[MergedFix]) -> ast.Module:
    """The original tree with exactly the planned keyword changes."""
    expected = copy.deepcopy(tree)
    by_position = {(c.call.lineno, c.call.col_offset, c.call.end_lineno, c.call.end_col_offset): c for c in changes}
    for node in ast.walk(expected):
        if not isinstance(node, ast.Call):
            continue
        change = by_position.get((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset))
        if change is None:
            continue
        node.keywords = [k for k in node.keywords if k.arg not in change.remove]
        for keyword in node.keywords:
            for name, value in change.replace:
                if keyword.arg == name:
                    keyword.value = ast.parse(value, mode="eval").body
        existing = {k.arg for k in node.keywords}
        for name, value in change.insert:
            if name not in existing:
                node.keywords.append(ast.keyword(arg=name, value=ast.parse(value, mode="eval").body))
    return expected


def apply_fixes(source, fixes: Sequence[KeywordFix], order: Sequence[str] = ()) -> str:
    """The source text with the fixes applied, verified; raises FixError when the result
    would not be exactly the intended change."""
    merged = merge(fixes, order)
    edits: List[TextEdit] = []
    for change in merged:
        edits += plan(source, change)
    if not edits:
        return source.text
    new_text = apply_text_edits(source.text, edits)
    try:
        new_tree = ast.parse(new_text)
    except SyntaxError as exc:
        raise FixError(f"the fixed code would not parse ({exc.msg}, line {exc.lineno})") from None
    want = ast.dump(expected_tree(source.tree, merged))
    if ast.dump(new_tree) != want:
        raise FixError("the fixed code would differ from the intended keyword change")
    return new_text
