"""Differential test against the real library: each scenario runs for real on
sqlite+aiosqlite while pool checkout/checkin events count the connections held, and its
stubbed external calls record that count; the same source is linted, and pool-lint must
say "held" (POL201) exactly where SQLAlchemy had a connection checked out, and
"certainly none" (POL202) exactly where it had none."""
from __future__ import annotations

import asyncio
import textwrap

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("aiosqlite")

from sqlalchemy import event  # noqa: E402

from pool_lint import lint_source  # noqa: E402

HEADER = '''
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(URL)
Session = async_sessionmaker(engine, expire_on_commit=False)


def external(tag):
    RECORD.append((tag, CHECKED_OUT[0]))


async def run_statement(session):
    await session.execute(text("select 1"))


async def run_and_commit(session):
    await session.execute(text("select 1"))
    await session.commit()


@asynccontextmanager
async def session_scope():
    async with Session() as session:
        yield session


@asynccontextmanager
async def warm_scope():
    async with Session() as session:
        await session.execute(text("select 1"))
        yield session


@asynccontextmanager
async def connection_scope():
    async with engine.connect() as conn:
        yield conn


def new_session():
    return Session()


async def open_session():
    return Session()


async def open_warm_session():
    session = Session()
    await session.execute(text("select 1"))
    return session
'''

SCENARIOS = {
    "statement then call": """
        async with Session() as s:
            await s.execute(text("select 1"))
            external("a")
    """,
    "add then call": """
        async with Session() as s:
            s.add_all([])
            external("a")
    """,
    "commit gives it back": """
        async with Session() as s:
            await s.scalar(text("select 1"))
            await s.commit()
            external("a")
    """,
    "rollback gives it back": """
        async with Session() as s:
            await s.scalar(text("select 1"))
            await s.rollback()
            external("a")
    """,
    "close gives it back": """
        s = Session()
        try:
            await s.execute(text("select 1"))
            await s.close()
            external("a")
        finally:
            await s.close()
    """,
    "statement after commit checks out again": """
        async with Session() as s:
            await s.commit()
            external("a")
            await s.execute(text("select 1"))
            external("b")
    """,
    "a branch that runs a statement": """
        async with Session() as s:
            if FLAG:
                await s.execute(text("select 1"))
            external("a")
    """,
    "the second pass of a loop": """
        async with Session() as s:
            for _ in range(2):
                external("a")
                await s.execute(text("select 1"))
    """,
    "begin block without a statement": """
        async with Session() as s:
            async with s.begin():
                external("a")
                await s.execute(text("select 1"))
                external("b")
            external("c")
    """,
    "engine.connect block": """
        async with engine.connect() as conn:
            external("a")
            await conn.execute(text("select 1"))
    """,
    "a project function that runs a statement": """
        async with Session() as s:
            await run_statement(s)
            external("a")
    """,
    "a project context manager": """
        async with session_scope() as s:
            external("a")
            await s.execute(text("select 1"))
            external("b")
    """,
    "a project context manager that ran a statement": """
        async with warm_scope() as s:
            external("a")
            await s.commit()
            external("b")
    """,
    "a project context manager yielding a connection": """
        async with connection_scope() as conn:
            external("a")
    """,
    "a project function that returns a session": """
        async with new_session() as s:
            external("a")
            await s.scalar(text("select 1"))
            external("b")
    """,
    "a project coroutine that returns a session": """
        s = await open_session()
        try:
            external("a")
            await s.execute(text("select 1"))
            external("b")
        finally:
            await s.close()
    """,
    "a project coroutine that returns a session after a statement": """
        s = await open_warm_session()
        try:
            external("a")
            await s.commit()
            external("b")
        finally:
            await s.close()
    """,
    "async with on a session closes it": """
        s = Session()
        async with s:
            await s.execute(text("select 1"))
            external("a")
        external("b")
    """,
    "a project function that commits": """
        async with Session() as s:
            await s.execute(text("select 1"))
            await run_and_commit(s)
            external("a")
    """,
}


def build(body: str) -> str:
    return HEADER + "\n\nasync def scenario():\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def run_for_real(source: str, tmp_path):
    record, checked_out = [], [0]
    namespace = {"URL": f"sqlite+aiosqlite:///{tmp_path}/d.db", "RECORD": record, "CHECKED_OUT": checked_out,
                 "FLAG": True}
    exec(compile(source, "scenario.py", "exec"), namespace)
    pool = namespace["engine"].sync_engine.pool

    def out(*_):
        checked_out[0] += 1

    def back(*_):
        checked_out[0] -= 1

    event.listen(pool, "checkout", out)
    event.listen(pool, "checkin", back)

    async def main():
        try:
            await namespace["scenario"]()
        finally:
            await namespace["engine"].dispose()

    asyncio.run(main())
    held = {}
    for tag, count in record:
        held[tag] = held.get(tag, False) or count > 0
    return held


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_analysis_agrees_with_sqlalchemy(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = build(SCENARIOS[name])
    real = run_for_real(source, tmp_path)
    lines = {tag: i for i, line in enumerate(source.splitlines(), 1)
             for tag in real if f'external("{tag}")' in line}
    findings = lint_source(source, path="scenario.py", extend_select=["POL202"],
                           settings={"external-calls": ["scenario.external"], "runtime": "server"})
    by_line = {}
    for f in findings:
        by_line.setdefault(f.row, set()).add(f.code)
    for tag, held in real.items():
        codes = by_line.get(lines[tag], set())
        if held:
            assert "POL201" in codes, f"{name}: SQLAlchemy held a connection at {tag}; pool-lint said {codes or 'nothing'}"
        else:
            assert "POL201" not in codes, f"{name}: pool-lint said held at {tag}; SQLAlchemy held none"
            assert "POL202" in codes, f"{name}: SQLAlchemy held none at {tag}; pool-lint was not certain"
