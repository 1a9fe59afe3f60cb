"""Fixes: keyword arguments inserted, removed or given a new value, leaving every other
byte alone (SPEC 7).

Rules describe *what* to change on a call (`KeywordFix`, on the `ast.Call` the analysis
saw). *How* is LibCST's job (`cstfix`): the call is found in a concrete syntax tree of its
statement and rewritten there, following the call's own layout (parenthesised arguments,
comments, trailing commas, backslash continuations, form feeds, CRLF, tabs all kept by
construction). This module never imports LibCST itself: `Planner` loads `cstfix` the
first time a file has a fix to offer or apply, so an analysis that offers none pays
nothing for it.

Every change is checked before anything is offered or written: the result must parse
and its AST must equal the original AST with exactly the planned keyword changes (the
safety net, and the property tests' oracle). A fix that fails the check, or that LibCST
cannot make, is not offered: its finding has no `fix`, is not counted as fixable, and
`--fix` leaves its call alone.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .analysis.downgrade import parse as _parse
from .analysis.text import NEWLINE as _NEWLINE
from .findings import Edit, FixError

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


def verify(tree: ast.AST, new_text: str, changes: Dict[tuple, MergedFix]) -> None:
    """Raise FixError unless `new_text` parses to `tree` with exactly `changes`."""
    try:
        new_tree = _parse(new_text)  # newer syntax read as the analysis reads it (downgrade)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise FixError(f"the fixed code would not parse ({getattr(exc, 'msg', exc)})") from None
    if ast.dump(new_tree) != expected_dump(tree, changes):
        raise FixError("the fixed code would differ from the intended keyword change")


# -- planning and applying -------------------------------------------------------------------
# Per process: (a span's header and text, the call's place in it, the change) -> the edit
# LibCST made and the check passed (offsets from the span's start), or None. Forgotten
# all at once past _EDITS_LIMIT characters of span text in the keys.
_EDITS: Dict[tuple, Optional[TextEdit]] = {}
_EDITS_LIMIT = 1 << 20
_edits_size = 0
_UNKNOWN = object()

class Planner:
    """The fixes of one file's text: each finding's own edit (what `--fix` would do for
    it alone, checked), and all of them applied together. LibCST is loaded, and the
    statements holding the calls parsed, the first time a fix is asked for."""

    def __init__(self, source):
        self.source = source
        self._document = None
        self._span_trees: Dict[int, ast.AST] = {}

    @property
    def document(self):
        if self._document is None:
            try:
                from .cstfix import Document
            except ImportError as exc:  # a broken install: the findings stay, without fixes
                raise FixError(f"LibCST is not available ({exc})") from None
            self._document = Document(self.source.text, self.source.tree.body, self.source.ancestors)
        return self._document

    def edit(self, fix: KeywordFix, order: Sequence[str] = ()) -> Optional[TextEdit]:
        """The text edit of one finding's fix, or None when it changes nothing or cannot
        be made exactly."""
        global _edits_size
        change = merge([fix], order)[0]
        if not change:
            return None
        try:
            document = self.document
            span = document.span_of(change.call)
        except FixError:
            return None
        # What LibCST makes of a call, and whether it passes the check, depend only on
        # the span's text, the call's place in it and the change: the same statement met
        # again (in this file or another) gives the same edit, at its own offset.
        key = (span.head, span.text, span.ast_key(change.call), change.insert, change.remove, change.replace)
        found = _EDITS.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._span_edit(document, span, change)
            if _edits_size + len(span.text) > _EDITS_LIMIT:
                _EDITS.clear()
                _edits_size = 0
            _EDITS[key] = found
            _edits_size += len(span.text)
        if found is None:
            return None
        return span.start + found[0], span.start + found[1], found[2]

    def _span_edit(self, document, span, change: MergedFix) -> Optional[TextEdit]:
        """One call's edit made by LibCST and checked (offsets from the span's start), or
        None."""
        try:
            start, end, content = document.call_edit(change.call, change.insert, change.remove, change.replace)
            tree = self._span_trees.get(id(span))
            if tree is None:
                try:
                    tree = self._span_trees[id(span)] = _parse(span.parsed(span.text))
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    raise FixError("the statement does not parse alone") from None
            new_text = span.text[: start - span.start] + content + span.text[end - span.start:]
            verify(tree, span.parsed(new_text), {span.ast_key(change.call): change})
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
        new_text = self.document.rewrite([(c.call, c.insert, c.remove, c.replace) for c in changes])
        verify(self.source.tree, new_text, {_key(c.call): c for c in changes})
        return new_text


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
