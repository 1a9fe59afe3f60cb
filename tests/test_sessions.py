"""Session analysis across the project: factories and dependencies defined in other
modules, type aliases, external-call chains, and the "sessions" that are not database
sessions."""
from __future__ import annotations

import json
import textwrap

from conftest import run_cli

DB = '''
from typing import Annotated
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600, pool_size=5, max_overflow=0, pool_timeout=5)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session():
    async with SessionLocal() as session:
        yield session


async def get_warm_session():
    async with SessionLocal() as session:
        await session.connection()
        yield session

SessionDep = Annotated[AsyncSession, Depends(get_session)]
'''
CLIENTS = '''
import httpx

crm = httpx.AsyncClient(base_url="https://crm.example.com")


async def sync_customer(customer_id):
    await crm.post("/sync", json={"id": customer_id})


async def notify(customer_id):
    await sync_customer(customer_id)
'''


def findings(project, routes: str, *extra):
    project.write("app/__init__.py", "")
    project.write("app/db.py", DB)
    project.write("app/clients.py", CLIENTS)
    project.write("app/routes.py", textwrap.dedent(routes))
    result = run_cli("check", "--output-format", "json", "--extend-select", "POL202", "--no-cache", *extra, ".",
                     cwd=project.root)
    return [(f["location"]["row"], f["code"], f["message"]) for f in json.loads(result.stdout)
            if f["filename"] == "app/routes.py"]


def test_dependency_and_alias_from_another_module_and_a_chain(project):
    found = findings(project, '''
        from fastapi import Depends
        from sqlalchemy import text
        from app.clients import notify
        from app.db import SessionDep, get_warm_session

        async def alias(customer_id: int, session: SessionDep):
            await session.execute(text("select 1"))
            await notify(customer_id)

        async def warm(customer_id: int, session=Depends(get_warm_session)):
            await notify(customer_id)

        async def fresh(customer_id: int, session: SessionDep):
            await notify(customer_id)
    ''')
    assert [(row, code) for row, code, _ in found] == [(9, "POL201"), (12, "POL201"), (15, "POL202")]
    assert "notify() -> sync_customer() -> httpx.AsyncClient.post" in found[0][2]


def test_annotated_parameter_is_unknown_until_its_own_first_statement(project):
    found = findings(project, '''
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.clients import crm

        async def helper(session: AsyncSession):
            await crm.get("/before")
            await session.execute(text("select 1"))
            await crm.get("/after")
    ''')
    assert [(row, code) for row, code, _ in found] == [(9, "POL201")]


def test_non_database_sessions_are_not_sessions(project):
    found = findings(project, '''
        import aiohttp
        import requests

        async def fetch():
            http = requests.Session()
            http.get("https://example.com")
            async with aiohttp.ClientSession() as client:
                await client.get("https://example.com")
    ''')
    assert found == []


def test_client_through_self_attribute_and_annotation(project):
    found = findings(project, '''
        import httpx
        from sqlalchemy import text
        from app.db import SessionLocal

        class Billing:
            def __init__(self):
                self.http = httpx.AsyncClient()

            async def charge(self, client: httpx.AsyncClient):
                async with SessionLocal() as session:
                    await session.execute(text("select 1"))
                    await self.http.post("/charge")
                    await client.post("/charge")
    ''')
    assert [(row, code) for row, code, _ in found] == [(13, "POL201"), (14, "POL201")]


def test_configured_external_calls(project):
    project.write("pyproject.toml", '[tool.pool-lint]\nexternal-calls = ["app.slow.crunch"]\n')
    project.write("app/slow.py", "def crunch():\n    return 1\n")
    found = findings(project, '''
        from sqlalchemy import text
        from app.db import SessionLocal
        from app.slow import crunch

        async def report():
            async with SessionLocal() as session:
                await session.execute(text("select 1"))
                crunch()
    ''')
    assert [(row, code) for row, code, _ in found] == [(9, "POL201")]


def test_session_not_closed_and_returned(project):
    found = findings(project, '''
        from app.db import SessionLocal

        def leaked():
            session = SessionLocal()
            return session.get(1)

        def handed_over():
            session = SessionLocal()
            return session
    ''')
    assert [(row, code) for row, code, _ in found] == [(5, "POL203")]


def test_create_task_sharing_a_session(project):
    found = findings(project, '''
        import asyncio
        from sqlalchemy import text
        from app.db import SessionLocal

        async def work(session):
            await session.execute(text("select 1"))

        async def main():
            async with SessionLocal() as session:
                first = asyncio.create_task(work(session))
                second = asyncio.create_task(work(session))
                await first, second
    ''')
    assert [(row, code) for row, code, _ in found] == [(12, "POL205")]


def test_session_on_a_borrowed_connection_is_not_reported(project):
    found = findings(project, '''
        from alembic import op
        from sqlalchemy.orm import Session
        from app.db import engine

        def upgrade():
            session = Session(bind=op.get_bind())
            session.execute("select 1")

        def leak():
            session = Session(engine)
            session.execute("select 1")
    ''')
    assert [(row, code) for row, code, _ in found] == [(11, "POL203")]
