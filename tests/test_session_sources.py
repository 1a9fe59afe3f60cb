"""Sessions that come from project code (SPEC 3b): a project function or method that
returns or yields a session is a session source wherever it is used; POL203 on a local
factory and on a session made inline as an argument, with the exact consequence; and
the file roles of the session rules (test code silent, in-process test clients)."""
from __future__ import annotations

import json
import textwrap

from conftest import run_cli

DB = '''
from contextlib import asynccontextmanager, contextmanager

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600, pool_size=5, max_overflow=0, pool_timeout=5)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
sync_engine = create_engine(URL, pool_pre_ping=True, pool_recycle=3600, pool_size=5, max_overflow=0, pool_timeout=5)
SyncSession = sessionmaker(bind=sync_engine)


def get_session() -> Session:
    return SyncSession()


@contextmanager
def warm_session():
    with SyncSession() as session:
        session.execute(text("select 1"))
        yield session


@contextmanager
def connection():
    with sync_engine.connect() as conn:
        yield conn


async def open_session():
    return SessionLocal()


class Database:
    def __init__(self, url):
        self.url = url

    async def session(self) -> AsyncSession:
        return await make_session(self.url)

    @asynccontextmanager
    async def session_context(self):
        session = await self.session()
        async with session:
            yield session


async def make_session(url):
    return AsyncSession(create_async_engine(url), expire_on_commit=False)


db = Database(URL)


def get_db() -> Database:
    return db


def get_client():
    return httpx.AsyncClient()
'''
CLIENTS = '''
import httpx
import requests

crm = httpx.AsyncClient(base_url="https://crm.example.com")


def push(total):
    requests.post("https://ledger.example.com", json={"total": total}, timeout=5)
'''
MODELS = '''
from sqlalchemy import text


async def count_a(session):
    return await session.scalar(text("select 1"))


async def count_b(session):
    return await session.scalar(text("select 2"))


def overdue(db_session):
    return list(db_session.scalars(text("select 1")))


def purge(db_session):
    db_session.execute(text("delete from holds"))
    db_session.commit()


def careful(db_session):
    try:
        return db_session.scalar(text("select 1"))
    finally:
        db_session.close()
'''


def check(project, rel: str, text: str, *extra, files=None):
    project.write("app/__init__.py", "")
    project.write("app/db.py", DB)
    project.write("app/clients.py", CLIENTS)
    project.write("app/models.py", MODELS)
    for other, body in (files or {}).items():
        project.write(other, textwrap.dedent(body))
    project.write(rel, textwrap.dedent(text))
    found = []
    for screen in ((), ("--no-screen",)):  # the index keeps what the analysis needs
        result = run_cli("check", "--output-format", "json", "--extend-select", "POL202", "--no-cache", *screen,
                         *extra, ".", cwd=project.root)
        found.append([(f["location"]["row"], f["code"], f["message"]) for f in json.loads(result.stdout)
                      if f["filename"] == rel])
    assert found[0] == found[1]
    return found[0]


def codes(found):
    return [(row, code) for row, code, _ in found]


def test_with_a_function_returning_a_session_and_a_held_wrapper(project):
    found = check(project, "app/jobs.py", '''
        from sqlalchemy import text
        from app.clients import push
        from app.db import connection, get_session, warm_session

        def totals():
            with get_session() as session:
                push(0)
                total = session.scalar(text("select 1"))
                push(total)

        def warm():
            with warm_session() as session:
                push(1)

        def raw():
            with connection() as conn:
                push(2)

        def assigned():
            session = get_session()
            try:
                session.execute(text("select 1"))
                push(3)
            finally:
                session.close()
    ''')
    assert codes(found) == [(8, "POL202"), (10, "POL201"), (14, "POL201"), (18, "POL201"), (24, "POL201")]
    assert "push() -> requests.post" in found[1][2]


def test_a_method_of_a_project_object_and_of_an_annotated_parameter(project):
    found = check(project, "app/routes.py", '''
        import asyncio
        from fastapi import Depends
        from app import models
        from app.clients import crm
        from app.db import Database, db, get_db, open_session

        async def claim(booking_id: int):
            async with db.session_context() as session:
                await session.execute("select 1")
                await crm.post("/claims")

        async def overview(database: Database = Depends(get_db)):
            async with database.session_context() as session:
                return await asyncio.gather(models.count_a(session), models.count_b(session))

        async def separate(database: Database = Depends(get_db)):
            async def one():
                async with database.session_context() as session:
                    return await models.count_a(session)
            return await asyncio.gather(one(), one())

        async def awaited():
            session = await open_session()
            try:
                await session.execute("select 1")
                await crm.get("/x")
            finally:
                await session.close()
    ''')
    assert codes(found) == [(11, "POL201"), (15, "POL205"), (27, "POL201")]


def test_not_a_session_source(project):
    found = check(project, "app/other.py", '''
        from app.clients import push
        from app.db import get_client, get_db

        async def client_only():
            async with get_client() as client:
                await client.get("/x")
                push(1)

        def database():
            database = get_db()
            push(2)
    ''')
    assert found == []


def test_a_session_from_a_method_of_self(project):
    found = check(project, "app/repo.py", '''
        from sqlalchemy import text
        from app.clients import push
        from app.db import SyncSession

        class Repository:
            def session(self):
                return SyncSession()

            def sync(self):
                with self.session() as session:
                    session.execute(text("select 1"))
                    push(1)
    ''')
    assert codes(found) == [(13, "POL201")]


def test_session_not_closed_local_factory_and_inline_argument(project):
    found = check(project, "app/nightly.py", '''
        from sqlalchemy import text
        from sqlalchemy.orm import sessionmaker
        from app.db import SyncSession, sync_engine
        from app.models import careful, overdue, purge

        def count():
            maker = sessionmaker(bind=sync_engine)
            db = maker()
            return db.scalar(text("select 1"))

        def release():
            maker = sessionmaker(bind=sync_engine)
            db = maker()
            db.execute(text("delete from holds"))
            db.commit()

        def main():
            overdue(db_session=SyncSession())
            purge(SyncSession())
            careful(SyncSession())
            print(SyncSession())

        def closed():
            maker = sessionmaker(bind=sync_engine)
            with maker() as db:
                return db.scalar(text("select 1"))
    ''')
    assert codes(found) == [(9, "POL203"), (14, "POL203"), (19, "POL203"), (20, "POL203")]
    never, on_exception, inline, inline_committed = (message for _, _, message in found)
    assert never.startswith("session `db` is never closed: where no commit(), rollback() or close() runs")
    assert "until the session is garbage-collected" in never
    assert on_exception.startswith("session `db` is not closed by `with` or in `finally`")
    assert "an exception between its first statement and that call" in on_exception
    assert inline.startswith("session `SyncSession()` passed to `overdue()` is never closed")
    assert inline_committed.startswith("session `SyncSession()` passed to `purge()` is not closed")


TEST_FILE = '''
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from app.db import SessionLocal, engine
from app.main import app

TestingSession = async_sessionmaker(engine)


@pytest.fixture
async def db_session():
    session = TestingSession()
    await session.execute(text("select 1"))
    yield session


async def test_claim():
    async with SessionLocal() as session:
        await session.execute(text("select 1"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            await http.post("/claims")
        transport = httpx.WSGITransport(app=app)
        local = httpx.AsyncClient(transport=transport)
        await local.get("/x")
        async with httpx.AsyncClient() as remote:
            await remote.get("https://example.com")
'''


def test_session_rules_are_silent_in_test_code(project):
    project.write("app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    assert check(project, "tests/test_claims.py", TEST_FILE) == []


def test_with_check_tests_in_process_clients_are_not_external(project):
    project.write("app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    project.write("pyproject.toml", "[project]\nname = 'demo'\n\n[tool.pool-lint]\ncheck-tests = true\n")
    found = check(project, "tests/test_claims.py", TEST_FILE)
    assert codes(found) == [(9, "POL204"), (14, "POL203"), (28, "POL201")]


def test_a_session_handed_on_by_the_function_it_is_passed_to_is_not_reported(project):
    found = check(project, "app/wrapped.py", '''
        from app.db import SyncSession

        class Repository:
            def __init__(self, session):
                self.session = session

        def wrap(session):
            return Repository(session)

        def keep(session):
            Repository.current = session

        def main():
            repository = wrap(SyncSession())
            keep(SyncSession())
            Repository(SyncSession())
    ''')
    assert found == []


def test_an_inherited_method_of_a_project_class(project):
    found = check(project, "app/services.py", '''
        import asyncio
        from sqlalchemy import text
        from app import models
        from app.clients import push
        from app.base import Base

        class Service(Base):
            """Its session comes from the base class."""

            def sync(self):
                with self.session() as session:
                    session.execute(text("select 1"))
                    push(1)

        async def overview(service: Service):
            async with service.scope() as session:
                return await asyncio.gather(models.count_a(session), models.count_b(session))
    ''', files={"app/base.py": '''
        from contextlib import asynccontextmanager
        from app.db import SessionLocal, SyncSession

        class Base:
            def session(self):
                return SyncSession()

            @asynccontextmanager
            async def scope(self):
                async with SessionLocal() as session:
                    yield session
    '''})
    assert codes(found) == [(14, "POL201"), (18, "POL205")]


def test_a_factory_imported_in_the_function_body(project):
    """An import inside the function binds the name there too; it is still the project's
    session factory (a CLI command that imports it lazily), not a local assignment."""
    found = check(project, "app/commands.py", '''
        from sqlalchemy import text

        def list_holds():
            from app.db import SyncSession
            db_session = SyncSession()
            for row in db_session.execute(text("select * from holds")):
                print(row)

        def shadowed():
            from app.db import SyncSession
            SyncSession = dict
            db_session = SyncSession()
            print(db_session)
    ''')
    assert codes(found) == [(6, "POL203")]


def test_a_parameter_annotated_with_a_newtype_of_a_session_class(project):
    """`AsyncSession = NewType("AsyncSession", sqlalchemy's AsyncSession)` (also through
    another NewType) names the same objects for the type checker: a parameter annotated
    with it is a session. A NewType of anything else is not."""
    found = check(project, "app/refunds.py", '''
        import httpx
        from sqlalchemy import select

        from app.kinds import AsyncSession, NotASession

        client = httpx.AsyncClient()


        async def refund(session: AsyncSession, order_id: int) -> None:
            await session.scalar(select(1))
            await client.post("https://payments.example.com/refunds", json={"order": order_id})


        async def other(session: NotASession, order_id: int) -> None:
            await session.scalar(select(1))
            await client.post("https://payments.example.com/refunds", json={"order": order_id})
    ''', files={"app/kinds.py": '''
        from typing import NewType

        from sqlalchemy.ext.asyncio import AsyncSession as _AsyncSession

        AsyncReadSession = NewType("AsyncReadSession", _AsyncSession)
        AsyncSession = NewType("AsyncSession", AsyncReadSession)
        NotASession = NewType("NotASession", dict)
    '''})
    assert codes(found) == [(12, "POL201")]
