"""fixes.settle makes the keyword insertions of plain calls without LibCST
(fixes._plain_edit): the same edit as cstfix's, or the same refusal, over many layouts
of a call (inline, one keyword per line, trailing commas, blank lines, parentheses,
stars, nested calls, comments, statements sharing a line), and a file with any call
that is not plain is left to cstfix whole."""
from __future__ import annotations

import ast
import random

import pytest

from pool_lint import fixes
from pool_lint.analysis.source import Source
from pool_lint.analysis.text import line_starts
from pool_lint.findings import FileResult, Finding
from pool_lint.fixes import KeywordFix, Planner, settle

pytest.importorskip("libcst")

ARGUMENTS = ["url", "'x, y'", "(a)", "*args", "**opts", "echo=True", "g(1, 2)", "[1, (2)]", "(a, b)",
             "lambda: 0", "{'a': (1)}", "f'{x}'", "'#'", "k=(1)", "pool_size=5", "h(\n    1,\n)", "x.y",
             "x for x in y", "-1", "a if b else c", "(\n    a\n)"]
OPENINGS = ["", " ", "\n    ", "\n\n    ", "\n"]
SEPARATORS = [", ", ",\n    ", ",\n\n    ", " , ", ",\n        ", ",  # c\n    "]
CLOSINGS = ["", ",", ", ", ",\n", "\n", " \n", ",\n\n", "  ", ",  # c\n", "\n    ", ",\n  "]
STATEMENTS = ["e = {call}\n", "{call}\n", "x = [{call}]\n", "e = ({call})\n", "a = 1; e = {call}\n",
              "def f():\n    return {call}\n", "@d({call})\ndef f():\n    pass\n", "e = {call}  # tail\n",
              "\fe = {call}\n", "e = {call}\r\n"]
INSERTS = [(("pool_pre_ping", "True"),), (("pool_recycle", "3600"), ("pool_timeout", "30")),
           (("pool_size", "5"),), (("max_overflow", "0"), ("pool_size", "10"), ("pool_recycle", "1800"))]


def _layouts(count: int, seed: int = 13):
    rng = random.Random(seed)
    for _ in range(count):
        arguments = rng.sample(ARGUMENTS, rng.randrange(0, 4))
        inner = ""
        if arguments:
            inner = rng.choice(OPENINGS) + arguments[0]
            for argument in arguments[1:]:
                inner += rng.choice(SEPARATORS) + argument
            inner += rng.choice(CLOSINGS)
        else:
            inner = rng.choice(["", " ", "\n"])
        callee = rng.choice(["create_engine", "sa.create_engine", "f"])
        statement = rng.choice(STATEMENTS).format(call=f"{callee}({inner})")
        text = rng.choice(["", "import sa\n", "x = 1\n\n"]) + statement + rng.choice(["", "y = 2\n", "\n"])
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        yield text, rng.choice(INSERTS)


def _requests(text: str, insert):
    source = Source.parse(text, "t.py")
    planner = Planner(source)
    for call in (n for n in ast.walk(source.tree) if isinstance(n, ast.Call)):
        request = planner.request(KeywordFix(call, "safe", "Add", insert=insert))
        if request is not None:
            yield request


def test_a_plain_calls_edit_is_the_edit_libcst_makes():
    plain = compared = 0
    for text, insert in _layouts(1500):
        starts = line_starts(text)
        for request in _requests(text, insert):
            fast = fixes._plain_edit(text, starts, request)
            compared += 1
            if fast is fixes._UNKNOWN:
                continue
            plain += 1
            slow = Planner(text=text).edit_at(*request)
            assert fast == slow, (text, request)
    assert compared > 1500 and plain > 400, (compared, plain)


def test_settle_leaves_a_file_with_a_call_that_is_not_plain_to_libcst(monkeypatch):
    text = "e = create_engine(url)\ndef f():\n    return create_engine(url)\n"
    requests = list(_requests(text, (("pool_pre_ping", "True"),)))
    assert [fixes._plain_edit(text, line_starts(text), r) is fixes._UNKNOWN for r in requests] == [False, True]

    def result():
        findings = [Finding("POL101", "n", "m", "warning", "t.py", r[0].lineno, 1, r[0].end_lineno, 1)
                    for r in requests]
        out = FileResult("t.py", findings)
        out.offers = (text, tuple((i, "safe", "Add") + r for i, r in enumerate(requests)))
        return out

    made = result()
    settle(made)
    asked = []
    monkeypatch.setattr(Planner, "edit_at", lambda self, *a: asked.append(a) or None)
    settle(result())
    assert len(asked) == 2  # both through cstfix (the Planner), none without it
    monkeypatch.undo()
    monkeypatch.setattr(fixes, "_plain_edit", lambda *a: fixes._UNKNOWN)
    slow = result()
    settle(slow)
    assert made.findings == slow.findings and all(f.fix is not None for f in made.findings)
