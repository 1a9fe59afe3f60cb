"""POL203 asks its questions of syntax first (a function's closed names, whether the call
a session is passed to may call a project function), and they give the answers of the
slow ways they replace (each slow way written out here as the oracle)."""
from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from conftest import SHARED, run_cli
from pool_lint.analysis.context import FileContext
from pool_lint.analysis.project import Project
from pool_lint.analysis.sessions import SessionAnalysis
from pool_lint.analysis.source import Source
from pool_lint.analysis.tree import statements, walk
from pool_lint.config import Settings
from pool_lint.rules.sessions import _closed_names

REPO = Path(__file__).resolve().parent.parent
CASES = SHARED / "cases"


def _closed_slow(func, name: str) -> bool:
    """rules.sessions' question, asked once per name."""
    for node in walk(func):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name) and node.value.id == name:
            return True
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
                isinstance(item.context_expr, ast.Name) and item.context_expr.id == name for item in node.items):
            return True
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for inner in (n for stmt in node.finalbody for n in walk(stmt)):
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                        and inner.func.attr == "close" and isinstance(inner.func.value, ast.Name) \
                        and inner.func.value.id == name:
                    return True
    return False


def _python_files():
    roots = [REPO / "pool_lint", REPO / "tests"] + ([CASES] if CASES.is_dir() else [])
    return sorted(path for root in roots for path in root.rglob("*.py"))


SAMPLE = '''
    from contextlib import closing
    def f(maker, other):
        a = maker()
        b = maker()
        with a, closing(b) as c, other:
            pass
        try:
            d = maker()
            e = maker()
        finally:
            d.close()
            e.commit()
            self.g.close()
        def inner():
            return b
        return [a]
'''


def _trees(sources):
    """The tree of each text the running Python parses."""
    for text in sources:
        try:
            yield ast.parse(text)
        except SyntaxError:
            continue


def test_closed_names_are_the_names_a_walk_per_name_finds():
    checked = 0
    for tree in _trees([textwrap.dedent(SAMPLE)] + [path.read_text() for path in _python_files()]):
        for func in (node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            names = {node.id for node in ast.walk(func) if isinstance(node, ast.Name)} | {"nope"}
            closed = _closed_names(func, {})
            for name in names:
                assert (name in closed) == _closed_slow(func, name), (func.name, func.lineno, name)
                checked += 1
    assert checked > 10000


STATEMENT_SHAPES = '''
    def f(x):
        g = lambda: [y for y in x if (z := y)]
        if x: return 1
        elif x: pass
        else:
            while x:
                break
            else:
                continue
        for a in x:
            async def h():
                async with x as b, x: yield b
                async for c in x: pass
                else: return
        else:
            class C:
                def m(self): return (lambda: 1)()
        try:
            pass
        except (A, B) as e:
            raise
        except C:
            x = 1 if x else 2
        else:
            del x
        finally:
            x.close(); return x
        match x:
            case [1, *rest] if rest:
                return rest
            case {"k": v}:
                with x: global q
            case _:
                nonlocal_ = 1
        try:
            pass
        except* ValueError:
            assert x
        return
'''


def test_the_statements_under_a_node_are_those_a_walk_finds():
    """tree.statements (what rules.sessions._closed_names looks through) yields the
    statements `walk` yields, without visiting expressions: lambdas, comprehensions,
    conditional expressions, every block and clause, `match` and `except*` included."""
    sources = [textwrap.dedent(STATEMENT_SHAPES), textwrap.dedent(SAMPLE)] + \
        [path.read_text() for path in _python_files()]
    checked = 0
    for tree in _trees(sources):
        for node in ast.walk(tree):
            if not isinstance(node, (ast.stmt, ast.Module, ast.Lambda, ast.ExceptHandler, ast.match_case)):
                continue
            found = list(statements(node))
            assert len(found) == len(set(map(id, found)))
            expected = {id(n) for n in walk(node) if isinstance(n, ast.stmt) and n is not node}
            assert set(map(id, found)) == expected, (type(node).__name__, getattr(node, "lineno", 0))
            checked += 1
    assert checked > 10000


class _AlwaysAsked(SessionAnalysis):
    may_call_project = staticmethod(lambda call: True)


@pytest.mark.skipif(not CASES.is_dir(), reason="the example projects")
def test_a_call_of_no_dotted_name_has_no_project_callee():
    """SessionAnalysis.may_call_project: where it says no, the callee search finds none."""
    asked = 0
    for root in sorted(path for path in CASES.iterdir() if path.is_dir()):
        project = Project(root)
        for path in sorted(root.rglob("*.py")):
            source = Source.parse(path.read_text(), str(path))
            file = FileContext(source, Settings(), project, path)
            slow = _AlwaysAsked(file)
            for call in (node for node in ast.walk(source.tree) if isinstance(node, ast.Call)):
                if not SessionAnalysis.may_call_project(call):
                    assert slow.callee(call) is None, (path, call.lineno)
                    asked += 1
    assert asked > 20


def test_a_session_passed_inline_where_the_call_is_no_dotted_name_or_handed_on(project):
    project.write("app/__init__.py", "")
    project.write("app/db.py", textwrap.dedent('''
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        engine = create_engine("postgresql://db/app")
        SessionLocal = sessionmaker(bind=engine)
    '''))
    project.write("app/jobs.py", textwrap.dedent('''
        from sqlalchemy import text
        from app.db import SessionLocal

        def purge(db):
            db.execute(text("delete from holds"))

        HANDLERS = {"purge": purge}

        def run():
            HANDLERS["purge"](SessionLocal())
            (lambda db: purge(db))(SessionLocal())
            purge(SessionLocal())

        def handed():
            return purge(SessionLocal())

        def kept():
            obj = SessionLocal()
            return obj
    '''))
    result = run_cli("check", "--output-format", "json", "--no-cache", ".", cwd=project.root)
    found = [(f["location"]["row"], f["code"]) for f in json.loads(result.stdout) if f["filename"] == "app/jobs.py"]
    assert found == [(13, "POL203")]
