"""The analysis layer on its own: name resolution, static values, engine calls, roles."""
from __future__ import annotations

import textwrap
from pathlib import Path, PurePath

import pytest

from pool_lint.analysis.context import FileContext
from pool_lint.analysis.engines import MISSING
from pool_lint.analysis.project import Project
from pool_lint.analysis.roles import is_test_path, role
from pool_lint.analysis.source import Source
from pool_lint.analysis.values import UNKNOWN
from pool_lint.config import Settings


def context(code: str, path: Path = None, project: Project = None) -> FileContext:
    source = Source.parse(textwrap.dedent(code), str(path or "mod.py"))
    project = project or Project(path.parent if path else Path.cwd())
    return FileContext(source, Settings(), project, path)


def engines(code: str, **kw):
    return context(code, **kw).engines


# -- recognising factories -----------------------------------------------------------------
@pytest.mark.parametrize("code", [
    "from sqlalchemy import create_engine\ne = create_engine(URL)",
    "import sqlalchemy as sa\ne = sa.create_engine(URL)",
    "import sqlalchemy\ne = sqlalchemy.engine.create_engine(URL)",
    "from sqlalchemy.ext import asyncio\ne = asyncio.create_async_engine(URL)",
    "from sqlalchemy.ext.asyncio import create_async_engine as make\ne = make(URL)",
    "from sqlmodel import create_engine\ne = create_engine(URL)",
    "from sqlalchemy import engine_from_config\ne = engine_from_config(CONFIG)",
    "from sqlalchemy.ext.asyncio import async_engine_from_config\ne = async_engine_from_config(CONFIG)",
    "def f():\n    from sqlalchemy import create_engine\n    return create_engine(URL)",
])
def test_factories_are_recognised_through_imports(code):
    assert len(engines(code)) == 1


@pytest.mark.parametrize("code", [
    "def create_engine(name):\n    return name\ne = create_engine('x')",
    "e = create_engine(URL)",  # a bare name, no import
    "from sqlalchemy import create_engine\ndef f(create_engine):\n    return create_engine(URL)",
    "from search import create_engine\ne = create_engine('products')",
])
def test_other_create_engine_functions_are_not_factories(code):
    assert engines(code) == []


def test_project_re_export_is_followed(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "compat.py").write_text("from sqlalchemy.ext.asyncio import create_async_engine as make_engine\n")
    main = pkg / "db.py"
    main.write_text("from .compat import make_engine\nengine = make_engine(URL)\n")
    file = context(main.read_text(), path=main, project=Project(tmp_path))
    assert [c.qualified for c in file.engines] == ["sqlalchemy.ext.asyncio.create_async_engine"]


# -- static values ---------------------------------------------------------------------------
def value_of(code: str, keyword: str):
    return engines("from sqlalchemy import create_engine\n" + code)[0].value(keyword)


@pytest.mark.parametrize("code,expected", [
    ("e = create_engine(URL, pool_recycle=60 * 60)", 3600),
    ("e = create_engine(URL, pool_recycle=-1)", -1),
    ("R = 4 * 60 * 60\ne = create_engine(URL, pool_recycle=R)", 14400),
    ("R = 1\nR = 2\ne = create_engine(URL, pool_recycle=R)", UNKNOWN),  # assigned twice
    ("e = create_engine(URL, pool_recycle=settings.RECYCLE)", UNKNOWN),
    ("e = create_engine(URL, pool_recycle=int(os.environ['R']))", UNKNOWN),
    ("def f():\n    r = 30\n    return create_engine(URL, pool_recycle=r)", 30),
    ("def f(flag):\n    if flag:\n        r = 30\n    return create_engine(URL, pool_recycle=r)", UNKNOWN),
    ("def f(r=30):\n    return create_engine(URL, pool_recycle=r)", UNKNOWN),
    ("e = create_engine(URL)", MISSING),
])
def test_keyword_values(code, expected):
    assert value_of(code, "pool_recycle") == expected or value_of(code, "pool_recycle") is expected


def test_mapping_with_subscript_assignment_and_conditional_key():
    code = (
        "OPTIONS = {'pool_pre_ping': True}\n"
        "OPTIONS['pool_size'] = 5\n"
        "if DEBUG:\n"
        "    OPTIONS['pool_recycle'] = 10\n"
        "e = create_engine(URL, **OPTIONS)\n"
    )
    call = engines("from sqlalchemy import create_engine\n" + code)[0]
    assert call.value("pool_pre_ping") is True and call.value("pool_size") == 5
    assert call.value("pool_recycle") is UNKNOWN  # set under a condition: present, unknown
    assert call.value("max_overflow") is MISSING and not call.open_keywords


@pytest.mark.parametrize("use", ["OPTIONS.update(x)", "configure(OPTIONS)", "OPTIONS = {}", "OPTIONS.setdefault('a', 1)"])
def test_any_other_use_makes_a_mapping_unresolvable(use):
    code = f"OPTIONS = {{'pool_pre_ping': True}}\n{use}\ne = create_engine(URL, **OPTIONS)\n"
    call = engines("from sqlalchemy import create_engine\n" + code)[0]
    assert call.open_keywords and call.value("pool_size") is UNKNOWN


def test_dict_call_mapping():
    call = engines("from sqlalchemy import create_engine\ne = create_engine(URL, **dict(pool_size=3))")[0]
    assert call.value("pool_size") == 3 and call.value("pool_timeout") is MISSING


def test_engine_from_config_prefix_and_coercion():
    code = (
        "from sqlalchemy import engine_from_config\n"
        "C = {'db.url': 'postgresql://h/x', 'db.pool_recycle': '120', 'db.pool_pre_ping': 'false', 'other': 1}\n"
        "e = engine_from_config(C, prefix='db.')\n"
    )
    call = engines(code)[0]
    assert call.value("pool_recycle") == 120
    assert call.value("pool_pre_ping") == "false"  # not coerced: a non-empty string is truthy
    assert call.url.scheme == "postgresql"
    unresolved = engines("from sqlalchemy import engine_from_config\ne = engine_from_config(cfg.get_section('x'))")[0]
    assert unresolved.open_keywords


# -- URLs and pool classes --------------------------------------------------------------------
@pytest.mark.parametrize("url,sqlite", [
    ('"sqlite+aiosqlite:///./x.db"', True),
    ('f"sqlite+aiosqlite:///{path}"', True),
    ('"sqlite:///" + path', True),
    ('os.environ.get("URL", "sqlite:///x.db")', False),
    ('f"postgresql+asyncpg://{user}@db/x"', False),
    ("URL", False),
])
def test_sqlite_urls(url, sqlite):
    call = engines(f"from sqlalchemy import create_engine\ne = create_engine({url})")[0]
    assert call.url.is_sqlite is sqlite


@pytest.mark.parametrize("url,pooler", [
    ('"postgresql://u@pgbouncer.internal:5432/x"', True),
    ('"postgresql://u@db.internal:6432/x"', True),
    ('"postgresql://u@cloudsql-proxy:5432/x"', True),
    ('"postgresql://u@db.internal:5432/x"', False),
    ("os.environ['URL']", False),
])
def test_pooler_urls(url, pooler):
    call = engines(f"from sqlalchemy import create_engine\ne = create_engine({url})")[0]
    assert call.url.is_pooler is pooler


@pytest.mark.parametrize("expr,kind", [
    ("NullPool", "null"), ("pool.NullPool", "null"), ("StaticPool", "static"),
    ("SingletonThreadPool", "singleton"), ("QueuePool", "queue"),
    ("NullPool if LAMBDA else QueuePool", "unknown"), ("choose_pool()", "unknown"), ("POOL", "null"),
])
def test_pool_classes(expr, kind):
    code = ("from sqlalchemy import create_engine, pool\n"
            "from sqlalchemy.pool import NullPool, QueuePool, SingletonThreadPool, StaticPool\n"
            "POOL = NullPool\n"
            f"e = create_engine(URL, poolclass={expr})\n")
    assert engines(code)[0].pool_kind == kind


def test_loops_and_functions():
    code = ("from sqlalchemy import create_engine\n"
            "def f(urls):\n"
            "    for u in urls:\n"
            "        create_engine(u)\n"
            "    [create_engine(u) for u in urls]\n"
            "    return create_engine(urls[0])\n"
            "for u in URLS:\n"
            "    create_engine(u)\n")
    found = engines(code)
    assert sorted((c.node.lineno, c.in_loop) for c in found) == [(4, True), (5, True), (6, False), (8, False)]


# -- roles -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path,expected", [
    ("tests/test_db.py", True), ("app/test_db.py", True), ("app/db_test.py", True), ("conftest.py", True),
    ("test/helpers.py", True), ("app/db.py", False), ("app/testing.py", False), ("contests/app.py", False),
])
def test_test_paths(path, expected):
    assert is_test_path(PurePath(path)) is expected


def _old_is_test_path(path) -> bool:
    """roles.is_test_path as it was (PurePath and fnmatch), the reference."""
    import fnmatch

    path = PurePath(path)
    if any(fnmatch.fnmatch(path.name, pattern) for pattern in ("test_*.py", "*_test.py", "conftest.py")):
        return True
    return any(part in ("tests", "test") for part in path.parts[:-1])


def test_test_paths_from_strings_answer_as_pathlib():
    """is_test_relative (the screen's, from the string) says what PurePath and fnmatch say,
    for odd names, Windows-style separators, empty and `.` parts, anchors."""
    import itertools

    from pool_lint.analysis.roles import is_test_relative

    folders = ["", "tests", "test", "Tests", "tests.py", "contests", "app", ".", "..", "a.b", "tests\\x",
               "app\\tests", "C:", "C:\\tests", " tests", "tests ", "[tests]", "*", "te*st"]
    names = ["test_db.py", "test_.py", "test_db.pyc", "db_test.py", "_test.py", "conftest.py", "Conftest.py",
             "conftest.pyw", "test.py", "testing.py", "test_db.PY", "TEST_db.py", "db.py", "", ".", "..",
             "tests", "test", "test_[a].py", "test_*.py", "test_?.py", "x\\test_a.py", "tests\\db.py",
             "test_\n.py", "\u00e9_test.py", "test_db.py ", " conftest.py", "a_test.py.py", ".test_db.py"]
    paths = set()
    for a, b, name in itertools.product(folders, folders, names):
        for sep in ("/", "//"):
            paths.add(sep.join(part for part in (a, b, name) if part))
            paths.add(sep.join((a, b, name)))
    paths |= {"", "/", "//", "///", "/tests/x.py", "//tests/x.py", "tests/", "tests/x.py/", "tests/./x.py",
              "./tests/x.py", "tests/x.py/.", "x/test_a.py/", "conftest.py/.", "a/./", "./", "."}
    for path in sorted(paths):
        assert is_test_relative(path) is _old_is_test_path(path), path
        assert is_test_path(path) is _old_is_test_path(path), path
        assert is_test_path(PurePath(path)) is _old_is_test_path(path), path


def test_alembic_env_is_a_migration():
    file = context("from alembic import context\nfrom sqlalchemy import engine_from_config\n")
    assert role(PurePath("migrations/env.py"), file.names) == "migration"
    assert role(PurePath("app/db.py"), context("import alembic\n").names) == "app"


def test_constants_imported_from_project_modules(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "settings.py").write_text("RECYCLE = 30 * 60\nURL = 'sqlite:///x.db'\nTWICE = 1\nTWICE = 2\n")
    main = pkg / "db.py"
    main.write_text("from sqlalchemy import create_engine\nfrom app.settings import RECYCLE, TWICE, URL\n"
                    "a = create_engine(URL, pool_recycle=RECYCLE)\nb = create_engine(X, pool_recycle=TWICE)\n")
    a, b = context(main.read_text(), path=main, project=Project(tmp_path)).engines
    assert a.value("pool_recycle") == 1800 and a.url.is_sqlite
    assert b.value("pool_recycle") is UNKNOWN


def test_the_calls_and_functions_a_rule_sees_are_those_its_ranges_hold():
    """FileContext.calls()/functions() with a scope: one pass over the nodes and the
    ranges where these come in order (as a plan writes them), and the same nodes as
    asking every range of every node, in order or not, overlapping, empty or past the end."""
    import random

    lines = []
    for i in range(1, 61):
        lines.append(f"def f{i}(): return g({i}), h(k({i}))" if i % 3 else f"x{i} = [g(y) for y in z({i})]")
    file = context("\n".join(lines) + "\n")
    calls, functions = file.source.calls, file.source.functions
    rng = random.Random(7)
    for _ in range(2000):
        ranges = []
        for _ in range(rng.randrange(0, 6)):
            first = rng.randrange(0, 70)
            ranges.append((first, first + rng.randrange(0, 12)))
        if rng.random() < 0.6:
            ranges.sort()
        file.scope = tuple(ranges)
        for got, nodes in ((file.calls(), calls), (file.functions(), functions)):
            assert got == [n for n in nodes if any(a <= n.lineno <= b for a, b in ranges)], ranges
    file.scope = None
    assert file.calls() is calls
