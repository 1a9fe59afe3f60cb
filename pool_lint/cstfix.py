"""The LibCST half of `--fix`: keyword arguments inserted, removed or given a new value on
a concrete syntax tree, which keeps every other byte by construction (SPEC 7).

Only `fixes.Planner` imports this module, and only for a file with a fix to offer or
apply: `import libcst` costs more than a whole run over a small tree (README, Design). In
a run, that is one process (fixes.settle): the worker given the files that can offer a
fix (stages.Analyses._send), or the main process; the other workers say where each call
stands (fixes.Place), without LibCST.

What is parsed: not the file, but the innermost statement around each call that owns
its lines (nothing else on its first and last lines), alone, under an `if 1:` header that
gives it its indentation back: a parse costs about 15 times `ast`'s, so a call in a
method of a 700-line module costs a parse of its statement, not of the module. Where no
such statement parses, the module-level statements that hold the call (with those that
share their lines, `a = 1; e = create_engine(x)`), else the whole file. Every span must
come back from LibCST byte for byte (it drops a form feed that it reads as indentation:
such a statement is not fixed).

Where: the `ast.Call` of a finding (its position, in its fixes.Place) is matched to the
CST `Call` whose syntactic range (`PositionProvider`: parentheses of the call itself
excluded, as in `ast`) has the same start and end, in lines and characters; nothing is
matched by shape or order.

How, following the call's layout (SPEC 7):
- a call whose last argument starts on the line of its `(`: `, name=value` after it (a
  trailing comma stays trailing: `f(a, b,)` -> `f(a, b, k=v,)`);
- otherwise one keyword per line after the last argument's line (after its comment), at
  that line's indentation and with its line ending, a trailing comma exactly when the
  call had one, the comment lines and the `)` that followed the last argument after them;
- a removed keyword takes its separator with it, or its whole line where every removed
  keyword stands on a line of its own;
- a new value keeps the parentheses of the old one.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .analysis.text import NEWLINE as _NEWLINE, char_column, line_starts, smallest_edit
from .findings import FixError

_EMPTY = cst.SimpleWhitespace("")
_SPACE = cst.SimpleWhitespace(" ")
_VALUES: Dict[str, cst.BaseExpression] = {}


def _value(source: str) -> cst.BaseExpression:
    node = _VALUES.get(source)
    if node is None:
        node = _VALUES[source] = cst.parse_expression(source)
    return node


def _merged(places) -> List[Tuple[int, int]]:
    """The line ranges of the module-level statements of the places (fixes.Place.outer),
    merged where they touch; raises FixError (the first place's reason) where one has
    none."""
    ranges = []
    for place in places:
        if isinstance(place.outer, str):
            raise FixError(place.outer)
        ranges.append(place.outer)
    ranges.sort()
    merged: List[List[int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(a, b) for a, b in merged]


# A statement's text -> what parsing it gave (module, line starts, positions, calls by
# position), or (None, why not: a message with a %s for what was parsed). Generated trees
# and real projects repeat statements (the same engine call in every service): each is
# parsed once per process. A parse depends on the text alone, and the trees are never
# changed (a rewrite makes new nodes). Forgotten all at once past _PARSED_LIMIT
# characters of text (a whole file's tree is large).
_PARSED: Dict[str, tuple] = {}
_PARSED_LIMIT = 1 << 18
_parsed_size = 0


def _parsed(code: str) -> tuple:
    global _parsed_size
    found = _PARSED.get(code)
    if found is not None:
        return found
    try:
        module = cst.parse_module(code)
    except (cst.ParserSyntaxError, RecursionError, MemoryError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        found = (None, "LibCST cannot parse %s: " + detail.replace("%", "%%"))
    else:
        if module.code != code:
            found = (None, "LibCST would not keep every byte of %s (a form feed in an indentation)")
        else:
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
            positions = wrapper.resolve(PositionProvider)
            calls: Dict[Tuple[int, int, int, int], cst.CSTNode] = {}
            for node, where in positions.items():
                if isinstance(node, (cst.Call, cst.Dict)):  # a dict literal: engine options (SPEC 3c)
                    calls[(where.start.line, where.start.column, where.end.line, where.end.column)] = node
            found = (module, line_starts(code), positions, calls)
    if _parsed_size + len(code) > _PARSED_LIMIT:
        _PARSED.clear()
        _parsed_size = 0
    _PARSED[code] = found
    _parsed_size += len(code)
    return found


class Span:
    """Whole lines of the file (`first`..`last`, 1-based) parsed with LibCST, alone: a
    module-level statement as it is, a statement inside a block after a header line
    (`if 1:`) that gives it its indentation back. Blanks before a module-level statement
    on its first line (a form feed) are left out: LibCST drops a form feed it reads as
    indentation. A span whose code LibCST would not give back byte for byte is refused."""

    def __init__(self, text: str, starts: Sequence[int], first: int, last: int, inner: bool = False,
                 whole: bool = False):
        self.first = first
        self.lines = last - first + 1
        line = text[starts[first - 1]:starts[first] if first < len(starts) else len(text)]
        self.skip = 0 if inner else len(line) - len(line.lstrip(" \t\f"))  # characters left out of line `first`
        self.start = starts[first - 1] + self.skip
        self.end = starts[last] if last < len(starts) else len(text)
        self.text = text[self.start:self.end]
        newline = _NEWLINE.search(line)
        self.head = "if 1:" + (newline.group() if newline else "\n") if inner else ""
        self.shift = first - 1 - (1 if inner else 0)  # file line = parsed line + shift
        what = "the file" if whole else "the statement"
        parsed = _parsed(self.head + self.text)
        if parsed[0] is None:
            raise FixError(parsed[1] % what)
        self.module, self.starts, self.positions, self.calls = parsed

    def code(self, module: cst.Module) -> str:
        """A rewritten module's code for these lines of the file (without the header)."""
        code = module.code
        if not code.startswith(self.head):
            raise FixError("the header line changed")  # pragma: no cover - only calls are rewritten
        return code[len(self.head):]

    def parsed(self, text: str) -> str:
        """What to parse (with `ast` too) for these lines: the header, then `text`."""
        return self.head + text

    def offset(self, node: cst.CSTNode, end: bool = False) -> int:
        """Offset of a node's start (or end) in `self.text`."""
        where = self.positions[node]
        point = where.end if end else where.start
        return self.starts[point.line - 1] + point.column - len(self.head)

    def ast_key(self, call) -> Tuple[int, int, int, int]:
        """The position of `call` in `ast.parse(self.parsed(self.text))` (skipped blanks are ASCII)."""
        return (call.lineno - self.shift, call.col_offset - (self.skip if call.lineno == self.first else 0),
                call.end_lineno - self.shift,
                call.end_col_offset - (self.skip if call.end_lineno == self.first else 0))

    def holds(self, call) -> bool:
        return self.first <= call.lineno and call.end_lineno < self.first + self.lines

    def find(self, text: str, starts: Sequence[int], call) -> cst.Call:
        """The CST node of an `ast.Call` (or of its fixes.Place): the one with the same
        start and end."""
        def point(row: int, byte_column: int) -> Tuple[int, int]:
            column = char_column(text, starts, row, byte_column)
            return row - self.shift, column - (self.skip if row == self.first else 0)

        node = self.calls.get(point(call.lineno, call.col_offset) + point(call.end_lineno, call.end_col_offset))
        if node is None:
            raise FixError("the call was not found in the concrete syntax tree")
        return node


# -- rewriting one call ----------------------------------------------------------------------
def _newline_at(text: str, pos: int) -> cst.Newline:
    found = _NEWLINE.search(text, pos)
    return cst.Newline(found.group() if found else "\n")


def _indent_of_line(text: str, pos: int) -> str:
    start = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    line = text[start:pos]
    indent = line[: len(line) - len(line.lstrip(" \t\f"))]
    return indent[indent.rfind("\f") + 1:]  # a form feed resets the column


def _lines(first: cst.TrailingWhitespace, empty=(), indent=False, last: cst.SimpleWhitespace = _EMPTY):
    return cst.ParenthesizedWhitespace(first_line=first, empty_lines=list(empty), indent=indent, last_line=last)


def _own_line(args, i: int, before) -> bool:
    """Argument `i` stands alone on its line(s): a line break before it, and after it
    only its comma and a comment before the next line break."""
    arg = args[i]
    if not isinstance(before, cst.ParenthesizedWhitespace):
        return False
    if isinstance(arg.comma, cst.Comma):
        return isinstance(arg.comma.whitespace_after, cst.ParenthesizedWhitespace) and \
            "\n" not in _code(arg.whitespace_after_arg) + _code(arg.comma.whitespace_before)
    return isinstance(arg.whitespace_after_arg, cst.ParenthesizedWhitespace)


def _code(node) -> str:
    return cst.Module([]).code_for_node(node)


def _join(before: cst.ParenthesizedWhitespace, after: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
    """The line break before a removed line joined with the one after it: the comment
    ending the line before stays, as do the comment lines around the removed line."""
    return before.with_changes(empty_lines=list(before.empty_lines) + list(after.empty_lines),
                               indent=after.indent, last_line=after.last_line)


class CallRewrite:
    """One call's keyword changes, planned on its original node and applied to it (or to
    the same node with its inner calls already rewritten)."""

    def __init__(self, span: Span, node: cst.Call, insert=(), remove=(), replace=()):
        self.span, self.node = span, node
        self.insert, self.remove, self.replace = tuple(insert), set(remove), dict(replace)

    def apply(self, call: cst.Call) -> cst.Call:
        args = list(call.args)
        before_args = call.whitespace_before_args
        positions = list(range(len(args)))  # index of each kept argument in the original call
        if self.replace:
            args = [self._replaced(a) for a in args]
        doomed = [i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value in self.remove]
        if doomed:
            args, before_args, positions = self._removed(args, before_args, doomed)
        names = {a.keyword.value for a in args if a.keyword is not None}
        items = [(n, v) for n, v in self.insert if n not in names]
        if items:
            args = self._inserted(args, positions, items)
        return call.with_changes(args=args, whitespace_before_args=before_args)

    def _replaced(self, arg: cst.Arg) -> cst.Arg:
        if arg.keyword is None or arg.keyword.value not in self.replace:
            return arg
        value = _value(self.replace[arg.keyword.value])
        if arg.value.lpar and hasattr(value, "lpar"):
            value = value.with_changes(lpar=arg.value.lpar, rpar=arg.value.rpar)
        return arg.with_changes(value=value)

    # -- removals --------------------------------------------------------------------------
    def _removed(self, args, before_args, doomed):
        befores = [before_args] + [a.comma.whitespace_after if isinstance(a.comma, cst.Comma) else None
                                   for a in args[:-1]]
        by_line = all(_own_line(args, i, befores[i]) for i in doomed)
        kept: List[cst.Arg] = []
        positions: List[int] = []
        if by_line:
            for i, arg in enumerate(args):
                if i not in doomed:
                    kept.append(arg)
                    positions.append(i)
                    continue
                before = kept[-1].comma.whitespace_after if kept else before_args
                after = arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else arg.whitespace_after_arg
                joined = _join(before, after)
                if not kept:
                    before_args = joined
                elif isinstance(arg.comma, cst.Comma):
                    kept[-1] = kept[-1].with_changes(comma=kept[-1].comma.with_changes(whitespace_after=joined))
                else:  # the old last argument, without a trailing comma: neither has the new last one
                    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=joined)
            return kept, before_args, positions
        # Inline: each run of neighbouring removed arguments goes with one separator.
        i = 0
        while i < len(args):
            if i not in doomed:
                kept.append(args[i])
                positions.append(i)
                i += 1
                continue
            j = i
            while j + 1 < len(args) and j + 1 in doomed:
                j += 1
            if kept:  # the separator before the run goes, the one after it stays
                kept[-1] = kept[-1].with_changes(whitespace_after_arg=args[j].whitespace_after_arg, comma=args[j].comma)
            i = j + 1
        return kept, before_args, positions

    # -- insertions ------------------------------------------------------------------------
    def _inserted(self, args, positions, items) -> List[cst.Arg]:
        new = [cst.Arg(value=_value(v), keyword=cst.Name(n),
                       equal=cst.AssignEqual(whitespace_before=_EMPTY, whitespace_after=_EMPTY)) for n, v in items]
        if not args:
            return [a.with_changes(comma=cst.Comma(whitespace_after=_SPACE)) for a in new[:-1]] + [new[-1]]
        if len(args) == 1 and isinstance(args[0].value, cst.GeneratorExp) and not args[0].value.lpar:
            args[0] = args[0].with_changes(value=args[0].value.with_changes(
                lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))  # `f(x for x in y)` alone needs no parentheses
        last = args[-1]
        original = self.node.args[positions[-1]]
        text = self.span.text
        last_start = self.span.offset(original)
        first_start = self.span.offset(self.node.args[0])
        if not _NEWLINE.search(_code(self.node.whitespace_before_args)) and \
                not _NEWLINE.search(text, first_start, last_start):
            return self._inline(args, new)
        indent = cst.SimpleWhitespace(_indent_of_line(text, last_start))
        newline = _newline_at(text, self.span.offset(original, end=True))
        line = _lines(cst.TrailingWhitespace(newline=newline), last=indent)
        if isinstance(last.comma, cst.Comma):
            after = last.comma.whitespace_after
            if isinstance(after, cst.ParenthesizedWhitespace):
                head = _lines(after.first_line, last=indent)
                tail = after.with_changes(first_line=cst.TrailingWhitespace(newline=newline))
            else:
                head, tail = line, after
            args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=head))
            new = [a.with_changes(comma=cst.Comma(whitespace_after=line)) for a in new[:-1]] + \
                  [new[-1].with_changes(comma=cst.Comma(whitespace_after=tail))]
        else:
            after = last.whitespace_after_arg
            if isinstance(after, cst.ParenthesizedWhitespace):
                head = _lines(after.first_line, last=indent)
                tail = after.with_changes(first_line=cst.TrailingWhitespace(newline=newline))
            else:
                head, tail = line, after
            args[-1] = last.with_changes(whitespace_after_arg=_EMPTY, comma=cst.Comma(whitespace_after=head))
            new = [a.with_changes(comma=cst.Comma(whitespace_after=line)) for a in new[:-1]] + \
                  [new[-1].with_changes(whitespace_after_arg=tail)]
        return args + new

    @staticmethod
    def _inline(args, new) -> List[cst.Arg]:
        last = args[-1]
        if isinstance(last.comma, cst.Comma):  # `f(a, b,)` -> `f(a, b, k=v,)`
            trailing = last.comma.whitespace_after
            args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=_SPACE))
            return args + [a.with_changes(comma=cst.Comma(whitespace_after=_SPACE)) for a in new[:-1]] + \
                [new[-1].with_changes(comma=cst.Comma(whitespace_after=trailing))]
        after = last.whitespace_after_arg
        args[-1] = last.with_changes(whitespace_after_arg=_EMPTY, comma=cst.Comma(whitespace_after=_SPACE))
        return args + [a.with_changes(comma=cst.Comma(whitespace_after=_SPACE)) for a in new[:-1]] + \
            [new[-1].with_changes(whitespace_after_arg=after)]


class DictRewrite:
    """Keys inserted into a dict literal (engine options: `engine_options={...}`,
    `SQLALCHEMY_ENGINE_OPTIONS = {...}`), following its layout as CallRewrite follows a
    call's: inline after the last entry when it starts on the line of `{`, else one entry
    per line at the last entry's indentation, a trailing comma exactly when the dict had
    one. Only insertions: a key is never removed or given a new value here."""

    def __init__(self, span: Span, node: cst.Dict, insert=(), remove=(), replace=()):
        if remove or replace:
            raise FixError("only keys can be added to a dict")
        self.span, self.node, self.insert = span, node, tuple(insert)

    def apply(self, node: cst.Dict) -> cst.Dict:
        elements = list(node.elements)
        names = {e.key.evaluated_value for e in elements
                 if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)}
        items = [(n, v) for n, v in self.insert if n not in names]
        if not items:
            return node
        quote = next((e.key.quote for e in elements if isinstance(e, cst.DictElement)
                      and isinstance(e.key, cst.SimpleString) and e.key.prefix == ""), '"')
        new = [cst.DictElement(key=cst.SimpleString(f"{quote}{n}{quote}"), value=_value(v),
                               whitespace_before_colon=_EMPTY, whitespace_after_colon=_SPACE) for n, v in items]
        if not elements:
            return node.with_changes(elements=[e.with_changes(comma=cst.Comma(whitespace_after=_SPACE))
                                               for e in new[:-1]] + [new[-1]])
        last = elements[-1]
        original = self.node.elements[-1]
        text = self.span.text
        last_start = self.span.offset(original)
        first_start = self.span.offset(self.node.elements[0])
        rbrace = node.rbrace
        if not _NEWLINE.search(_code(self.node.lbrace)) and not _NEWLINE.search(text, first_start, last_start):
            if isinstance(last.comma, cst.Comma):  # `{a: 1,}` -> `{a: 1, b: 2,}`
                trailing = last.comma.whitespace_after
                elements[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=_SPACE))
                tail = [new[-1].with_changes(comma=cst.Comma(whitespace_after=trailing))]
            else:
                elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=_SPACE))
                tail = [new[-1]]
            return node.with_changes(elements=elements + [e.with_changes(comma=cst.Comma(whitespace_after=_SPACE))
                                                          for e in new[:-1]] + tail)
        indent = cst.SimpleWhitespace(_indent_of_line(text, last_start))
        newline = _newline_at(text, self.span.offset(original, end=True))
        line = _lines(cst.TrailingWhitespace(newline=newline), last=indent)
        after = last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else rbrace.whitespace_before
        if isinstance(after, cst.ParenthesizedWhitespace):
            head = _lines(after.first_line, last=indent)
            tail = after.with_changes(first_line=cst.TrailingWhitespace(newline=newline))
        else:
            head, tail = line, after
        middle = [e.with_changes(comma=cst.Comma(whitespace_after=line)) for e in new[:-1]]
        if isinstance(last.comma, cst.Comma):
            elements[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=head))
            return node.with_changes(elements=elements + middle + [
                new[-1].with_changes(comma=cst.Comma(whitespace_after=tail))])
        elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=head))
        return node.with_changes(elements=elements + middle + [new[-1]],
                                 rbrace=rbrace.with_changes(whitespace_before=tail))


def _rewrite_of(span: Span, node, insert=(), remove=(), replace=()):
    kind = DictRewrite if isinstance(node, cst.Dict) else CallRewrite
    return kind(span, node, insert, remove, replace)


class _Rewriter(cst.CSTTransformer):
    def __init__(self, rewrites: Dict[cst.CSTNode, object]):
        super().__init__()
        self.rewrites = rewrites

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        rewrite = self.rewrites.get(original_node)
        return rewrite.apply(updated_node) if rewrite is not None else updated_node

    def leave_Dict(self, original_node: cst.Dict, updated_node: cst.Dict) -> cst.BaseExpression:
        rewrite = self.rewrites.get(original_node)
        return rewrite.apply(updated_node) if rewrite is not None else updated_node


# -- a file --------------------------------------------------------------------------------
class Document:
    """A file's text and the LibCST spans parsed from it, each line at most once per span
    that holds a call to fix. A call is named by its place (fixes.Place: its `ast`
    position, and the statements around it that may be parsed alone), worked out without
    LibCST."""

    def __init__(self, text: str):
        self.text = text
        self.starts = line_starts(text)
        self._spans: List[Span] = []
        self._covering: Dict[int, List[Span]] = {}  # a line -> the spans parsed over it
        self._whole: Optional[Span] = None

    def _add(self, span: Span) -> None:
        self._spans.append(span)
        for line in range(span.first, span.first + span.lines):
            self._covering.setdefault(line, []).append(span)

    def _holding(self, call) -> List[Span]:
        """The spans parsed so far that hold the call (looked up by its first line: a
        file with thousands of calls to fix asks this once per call)."""
        return [s for s in self._covering.get(call.lineno, ()) if s.holds(call)]

    def span_of(self, call) -> Span:
        """The largest span parsed so far that holds the call (spans nest or are apart),
        parsing the call's own statement first if none does."""
        if self._whole is not None:
            return self._whole
        self.prepare([call])
        if self._whole is not None:
            return self._whole
        return max(self._holding(call), key=lambda s: s.lines)

    def prepare(self, calls) -> None:
        """Parse the statements of these calls (their places): the innermost statement
        around each that owns its lines, else its module-level statements (neighbours in
        one span), else, where LibCST cannot take those alone, the whole file."""
        missing = [c for c in calls if not self._holding(c)]
        if not missing or self._whole is not None:
            return
        outer = []
        for call in missing:
            if self._holding(call):
                continue
            span = self._inner_span(call)
            if span is None:
                outer.append(call)
            else:
                self._add(span)
        if not outer:
            return
        for first, last in _merged(outer):
            try:
                self._add(Span(self.text, self.starts, first, last))
            except FixError:
                self._whole = Span(self.text, self.starts, 1, len(self.starts) - 1, whole=True)
                return

    def _inner_span(self, call) -> Optional[Span]:
        """The innermost statement around the call that owns its lines and that LibCST
        parses alone (fixes.Place.inner), or None."""
        for first, last in call.inner:
            try:
                return Span(self.text, self.starts, first, last, inner=True)
            except FixError:
                continue
        return None

    def call_edit(self, call, insert=(), remove=(), replace=()) -> Tuple[int, int, str]:
        """One call's change as a text edit (start, end, new text) of the file: the
        smallest stretch that changes."""
        span = self.span_of(call)
        node = span.find(self.text, self.starts, call)
        old = span.text
        new = span.code(span.module.visit(_Rewriter({node: _rewrite_of(span, node, insert, remove, replace)})))
        head, end, added = smallest_edit(old, new)
        if old[:head] + added + old[end:] != new:
            raise FixError("the edit would not give the rewritten code")  # pragma: no cover
        return span.start + head, span.start + end, added

    def rewrite(self, changes: Sequence[tuple]) -> str:
        """The file's text with every call's change ((place, insert, remove, replace)),
        each span generated once."""
        self.prepare([c[0] for c in changes])
        by_span: Dict[int, Tuple[Span, Dict[cst.CSTNode, object]]] = {}
        for call, insert, remove, replace in changes:
            span = self.span_of(call)
            node = span.find(self.text, self.starts, call)
            by_span.setdefault(id(span), (span, {}))[1][node] = _rewrite_of(span, node, insert, remove, replace)
        pieces, pos = [], 0
        for span, rewrites in sorted(by_span.values(), key=lambda item: item[0].start):
            if span.start < pos:
                raise FixError("overlapping statements")  # pragma: no cover - spans nest or are apart
            pieces.append(self.text[pos:span.start])
            pieces.append(span.code(span.module.visit(_Rewriter(rewrites))))
            pos = span.end
        pieces.append(self.text[pos:])
        return "".join(pieces)
