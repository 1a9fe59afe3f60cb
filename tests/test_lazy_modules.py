"""Modules the analysis only consults are parsed as a skeleton, each module-level function
and class parsed when a question reaches its name (analysis/statements.py,
source.Source.parse_lazily). What the analysis sees of them must be what a full parse
gives."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from pool_lint.analysis.names import ModuleNames
from pool_lint.analysis.project import Project
from pool_lint.analysis.source import Source
from pool_lint.analysis.statements import FAST, heads, layout, skeleton

REPO = Path(__file__).resolve().parents[1]
needs_fast = pytest.mark.skipif(not FAST, reason="a skeleton is cut only where the C tokenizer is at hand")

MODULE = textwrap.dedent('''\
    """A module."""
    import httpx
    from .db import SessionLocal

    TIMEOUT = 5


    @decorator(
        "x",
    )
    async def fetch(url):
        async with httpx.AsyncClient() as client:
            return await client.get(url, timeout=TIMEOUT)


    class Repository(Base):
        """Docs."""

        def get(self, key):
            return self.session.get(key)


    def short(): return 1
    ''')


def dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


@needs_fast
def test_skeleton_keeps_every_line_and_every_name():
    shape, stubs = skeleton(MODULE)
    assert shape.count("\n") == MODULE.count("\n")
    lines = shape.splitlines()
    assert lines[10] == "async def fetch(): ..."  # line 11: the `async def` line
    assert lines[7:10] == ["", "", ""]  # its decorator
    assert lines[15] == "class Repository: ..."
    assert "def short(): return 1" in shape  # too short to cut
    assert sorted(stubs) == [11, 16]
    first, text = stubs[11]
    assert first == 8 and text.startswith("@decorator(") and "client.get" in text
    tree = ast.parse(shape)
    assert {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))} \
        == {"fetch", "Repository", "short"}


@needs_fast
def test_skeleton_refuses_what_it_cannot_cut_safely():
    assert skeleton("x = 1\ny = 2\n") is None  # nothing to cut
    assert skeleton("def f():\r    a = 1\r    b = 2\r    return a\r") is None  # lone CR line ends


@needs_fast
def test_a_stub_expands_to_what_the_full_parse_gives():
    lazy = Source.parse_lazily(MODULE, "m.py")
    full = Source.parse(MODULE, "m.py")
    assert dump(lazy.tree) != dump(full.tree)
    names = ModuleNames(lazy.tree, "pkg.m", False, lazy)
    (fetch,) = names.bindings.get("fetch")
    (repository,) = names.bindings["Repository"]
    assert isinstance(fetch, ast.AsyncFunctionDef) and fetch.decorator_list
    assert isinstance(repository, ast.ClassDef) and repository.bases
    assert dump(lazy.tree) == dump(full.tree)


def _corpus():
    paths = sorted((REPO / "pool_lint").rglob("*.py")) + sorted((REPO / "fixtures").rglob("*.py"))
    return [p for p in paths if skeleton(p.read_text(encoding="utf-8")) is not None]


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_stub_of_real_modules_expands_to_the_full_parse(path):
    text = path.read_text(encoding="utf-8")
    lazy = Source.parse_lazily(text, str(path))
    names = ModuleNames(lazy.tree, "m", False, lazy)
    for name in list(names.bindings):
        names.bindings.get(name)
    assert not lazy._lazy
    assert dump(lazy.tree) == dump(Source.parse(text, str(path)).tree)


def test_splitting_and_joining_gives_the_bytes_back():
    for path in _corpus():
        data = path.read_bytes()
        assert b"".join(s[0][1] for s in layout(data)) == data


@pytest.mark.skipif(not FAST, reason="no skeleton without the C tokenizer")
def test_the_skeleton_cut_from_the_scan_s_layout_is_the_one_cut_from_the_tokens():
    """A kept file the scan laid out is not tokenized again for its lazy parse: its
    statements' heads (statements.heads: the line, kind and name of each statement at
    indentation 0) give the same skeleton as the tokenizer's, whatever lines are kept."""
    checked = 0
    for path in _corpus() + sorted((REPO / "tests").rglob("*.py")):
        data = path.read_bytes()
        text = data.decode("utf-8")
        known = heads(layout(data))
        lines = text.count("\n") + 1
        for keep in ((), ((1, 1),), ((lines // 3, lines // 2),), ((lines // 2, lines),)):
            assert skeleton(text, keep, known) == skeleton(text, keep), (path, keep)
            checked += 1
    assert checked > 100


def test_a_bracket_in_a_string_does_not_join_the_functions_after_it():
    """The tokenizer says where a statement ends: a template's lone brace in a string, a
    bracket in a comment, a form feed before a definition change nothing. A bracket
    really open still joins its lines."""
    data = (b"value = [\nfirst,\n]\n"
            b'def render():\n    return """\n{{ name } oops\n"""\n\n\n'
            b"def after():\n    return 1\n\n\n"
            b"x = call(\n    a,\n# (\n)\n\n\n"
            b"\x0cclass Later:\n    pass\n")
    statements = [s[0][1] for s in layout(data)]
    assert [s.split(b"\n", 1)[0] for s in statements] == [b"value = [", b"def render():", b"def after():",
                                                           b"x = call(", b"\x0cclass Later:"]
    assert b"".join(statements) == data


@needs_fast
def test_expanding_after_the_index_extends_the_index():
    lazy = Source.parse_lazily(MODULE, "m.py")
    assert len(lazy.functions) == 2  # the stubs and `short`: nothing inside a stub yet
    names = ModuleNames(lazy.tree, "m", False, lazy)
    (repository,) = names.bindings.get("Repository")
    method = repository.body[1]
    assert lazy.enclosing(method.body[0]) == (method, repository)
    assert lazy.parent(method) is repository
    assert method in lazy.functions
    assert [f.lineno for f in lazy.functions] == sorted(f.lineno for f in lazy.functions)
    call = method.body[0].value
    assert call in lazy.calls
    assert "key" in lazy.local_names and method in lazy.binders["key"]


def test_a_function_that_does_not_parse_binds_nothing(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "helpers.py").write_text(textwrap.dedent("""\
        import httpx


        def broken(url):
            return httpx.get(url) +
            pass


        def fine(url):
            x = 1
            return httpx.get(url)
        """))
    project = Project(tmp_path)
    assert project.resolve("pkg.helpers.broken")[1:] == (None, None)
    name, module, node = project.resolve("pkg.helpers.fine")
    assert name == "pkg.helpers.fine" and isinstance(node, ast.FunctionDef) and node.lineno == 9
    assert module.source.segment(node.body[1]) == "return httpx.get(url)"


def test_a_module_whose_skeleton_does_not_parse_is_parsed_whole(tmp_path):
    (tmp_path / "bad.py").write_text("def f():\n    a = 1\n    return a\n\nx = (\n")
    assert Project(tmp_path).resolve("bad.f")[1] is None  # a syntax error: the module is not there


# -- the file being checked, where the screen says only session rules can fire --------------
from pool_lint.plan import EVERYTHING, Plan  # noqa: E402
from pool_lint.checker import Checker  # noqa: E402
from pool_lint.config import Settings  # noqa: E402

CHECKED = textwrap.dedent('''\
    import httpx
    from sqlalchemy.orm import Session


    def notify(url):
        payload = {"a": 1}
        return httpx.post(url, json=payload)


    def unrelated():
        x = 1
        return x + 1


    def handler(session: Session, url):
        session.execute("select 1")
        notify(url)
        session.commit()
    ''')


def _findings(text, plan, tmp_path):
    path = tmp_path / "app.py"
    path.write_text(text)
    checker = Checker(Settings())
    return [(f.code, f.row, f.message) for f in
            checker.check_text(text, "app.py", path, checker.project(tmp_path), plan)]


def test_parsed_whole_are_the_session_ranges_when_only_session_rules_can_fire():
    assert EVERYTHING.parsed_whole() is None
    assert Plan(True, False, ((3, 4),), (), ()).parsed_whole() is None  # the engine rules look anywhere
    assert Plan(False, True, (), (), ()).parsed_whole() is None  # so does POL204
    assert Plan(False, False, ((3, 4),), ((9, 9),), ()).parsed_whole() == [(3, 4), (9, 9)]


def test_a_helper_outside_the_kept_lines_is_parsed_when_the_rule_reaches_it(tmp_path):
    plan = Plan(False, False, ((15, 18),), (), ())
    pruned = _findings(CHECKED, plan, tmp_path)
    assert pruned == _findings(CHECKED, EVERYTHING, tmp_path)
    assert [(code, row) for code, row, _ in pruned] == [("POL201", 17)]
    assert "notify() -> httpx.post" in pruned[0][2]


@needs_fast
def test_the_kept_lines_are_parsed_whole_and_the_rest_as_stubs():
    source = Source.parse_lazily(CHECKED, "app.py", [(15, 18)])
    handler = source.tree.body[-1]
    assert handler.name == "handler" and len(handler.body) == 3
    assert [n.body[0].__class__.__name__ for n in source.tree.body[2:4]] == ["Expr", "Expr"]  # `...`
    assert set(source._lazy.values()) == {(5, CHECKED.split("\n\n\n")[1] + "\n\n\n"),
                                         (10, CHECKED.split("\n\n\n")[2] + "\n\n\n")}


def test_a_syntax_error_where_no_rule_looks_is_not_reported(tmp_path):
    """POL001 is for what pool-lint must read: with the screen, the statements it keeps."""
    broken = CHECKED.replace("x = 1", "x = = 1")
    plan = Plan(False, False, ((15, 18),), (), ())
    assert [code for code, _, _ in _findings(broken, plan, tmp_path)] == ["POL201"]
    assert [code for code, _, _ in _findings(broken, EVERYTHING, tmp_path)] == ["POL001"]
