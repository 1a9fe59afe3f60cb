"""POL201-POL205: what happens while a session or connection holds a pooled connection."""
from __future__ import annotations

import ast
from typing import Dict, List

from ..analysis.tree import walk
from ..analysis.sessions import (CREATE_TASK, GATHER, SESSION_CLASSES, async_factory_calls, session_names,
                                 starts_tasks)
from ..fixes import KeywordFix
from .base import Report, Rule, example, register

HOLDING_CONNECTION = "`{call}` while `{session}` holds a pooled connection: the slot stays checked out for the whole call; commit or release before calling out"
IN_SESSION_SCOPE = "`{call}` inside the scope of `{session}` (it holds no connection now): keep external calls outside session scopes so they cannot start holding one"
SESSION_NOT_CLOSED = "session `{session}` is never closed: its connection stays checked out until the garbage collector reclaims it; use `with` or close it in `finally`"
EXPIRES_ON_COMMIT = "async session without `expire_on_commit`: commit() expires loaded objects and reading one afterwards raises MissingGreenlet"
SHARED_IN_GATHER = "session `{session}` is used by several awaitables of one gather(): a session runs one statement at a time; give each task its own session"
SHARED_WITH_TASK = "session `{session}` is shared with a task started earlier: a session runs one statement at a time; give each task its own session"

_ASYNC = """
from fastapi import Depends, FastAPI
import httpx
from ..analysis.tree import walk
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600, pool_size=5, max_overflow=0, pool_timeout=10)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()
client = httpx.AsyncClient()

async def get_session():
    async with SessionLocal() as session:
        yield session
"""


def _external_reports(file, code: str) -> List[Report]:
    out = []
    analysis = file.sessions
    for func in file.functions():
        for found in analysis.flow(func).externals:
            if found.code != code:
                continue
            template = HOLDING_CONNECTION if code == "POL201" else IN_SESSION_SCOPE
            message = template.format(call=found.description, session=found.session)
            out.append(Report(node=found.call.func, message=message, span=found.call))
    return out


@register
class ExternalCallHoldingConnection(Rule):
    """## What it does
    Checks for external calls (HTTP clients, SDK clients such as boto3, OpenAI, Anthropic or
    Stripe, mail, and the names in `external-calls`) made while a session or connection
    may hold a pooled connection. A call of a project function that leads to one counts,
    and the message names the chain.

    ## Why is this bad?
    A session checks a connection out of the pool at its first statement (`execute`,
    `get`, `scalar`, a `flush` with pending objects...) and gives it back only at
    `commit()`, `rollback()` or `close()`; `engine.connect()` and `engine.begin()` hold
    one for their whole block. A five-second HTTP or LLM call made in between keeps that
    pool slot busy for five seconds, doing nothing: twenty such requests exhaust a pool of
    twenty at low traffic, and every other request waits `pool_timeout` and fails.
    pool-lint follows the session through branches and loops ("may hold" on any path is
    enough) and through the project's own functions.

    ## Example
    ```python
    order = await session.get(Order, order_id)
    charge = await payments.post("/charges", json={"amount": order.total})
    order.charge_id = charge.json()["id"]
    await session.commit()
    ```

    ## Use instead
    ```python
    order = await session.get(Order, order_id)
    amount = order.total
    await session.commit()  # the connection goes back to the pool
    charge = await payments.post("/charges", json={"amount": amount})
    ```

    ## Fix
    None: moving the call changes the transaction.

    ## Options
    - `external-calls`: more qualified names that call out (`app.clients.crm.CrmClient.sync`).

    ## References
    - `tests/test_sqlalchemy_facts.py` and `tests/test_session_differential.py`: when the
      real SQLAlchemy checks a connection out and returns it.
    - Known limit: a sync session reloads an expired attribute read after `commit()` (a
      new checkout); pool-lint does not track attribute reads.
    """

    code = "POL201"
    name = "external-call-holding-connection"
    family = "external"
    severity = "warning"
    fix = "none"
    valid = (example(_ASYNC + """
        @app.post("/pay")
        async def pay(order_id: int, session: AsyncSession = Depends(get_session)):
            total = await session.scalar(text("select total from orders"))
            await session.commit()
            await client.post("/charges", json={"amount": total})
    """),)
    invalid = (example(_ASYNC + """
        @app.post("/pay")
        async def pay(order_id: int, session: AsyncSession = Depends(get_session)):
            total = await session.scalar(text("select total from orders"))
            await client.post("/charges", json={"amount": total})
            await session.commit()
    """, expect=[(19, 19, "`httpx.AsyncClient.post` while `session` holds a pooled connection:")]), example("""
        import requests
        from sqlalchemy import create_engine, text
        engine = create_engine(URL)

        def void(invoice_id):
            with engine.begin() as conn:
                requests.get(f"https://payments.example.com/{invoice_id}", timeout=5)
                conn.execute(text("update invoices set voided = true"))
    """, expect=[(7, 9, "`requests.get` while `conn` holds a pooled connection:")]))

    def check(self, file):
        return _external_reports(file, self.code)


@register
class ExternalCallInSessionScope(Rule):
    """## What it does
    Checks for external calls made inside a session's scope while the session certainly
    holds no connection: before its first statement, or after `commit()` / `rollback()`.
    Off by default: enable it with `extend-select = ["POL202"]`.

    ## Why is this bad?
    Nothing is held at that moment, so the pool is not hurt today. But the code sits in a
    session scope, and the next edit (a query moved up, a commit moved down) turns it into
    a connection held across a network call (POL201). Keeping external calls outside
    session scopes makes that impossible by construction.

    ## Example
    ```python
    async with SessionLocal() as session:
        rate = await rates.get("/latest")
        session.add(Quote(rate=rate.json()["rate"]))
        await session.commit()
    ```

    ## Use instead
    ```python
    rate = await rates.get("/latest")
    async with SessionLocal() as session:
        session.add(Quote(rate=rate.json()["rate"]))
        await session.commit()
    ```

    ## Fix
    None.

    ## Options
    - `external-calls`: more qualified names that call out.

    ## References
    - `tests/test_sqlalchemy_facts.py`: entering a session and `add()` check nothing out.
    """

    code = "POL202"
    name = "external-call-in-session-scope"
    family = "external"
    severity = "info"
    fix = "none"
    default_enabled = False
    valid = (example(_ASYNC + """
        async def quote(base):
            rate = await client.get("/latest", params={"base": base})
            async with SessionLocal() as session:
                await session.commit()
    """),)
    invalid = (example(_ASYNC + """
        async def quote(base):
            async with SessionLocal() as session:
                rate = await client.get("/latest", params={"base": base})
                await session.commit()
    """, expect=[(18, 30, "`httpx.AsyncClient.get` inside the scope of `session` (it holds no connection now):")]),)

    def check(self, file):
        return _external_reports(file, self.code)


@register
class SessionNotClosed(Rule):
    """## What it does
    Checks for sessions created outside a `with` block and not closed in a `finally`
    (or handed to a context manager), including a `yield` dependency that never closes
    the session it yields. A session returned to the caller is the caller's to close.

    ## Why is this bad?
    A session that is never closed keeps its connection checked out until the garbage
    collector happens to reclaim the session; on an exception path even a trailing
    `close()` is skipped. Under load the pool runs dry while idle sessions sit on its
    connections.

    ## Example
    ```python
    def list_invoices():
        session = SessionLocal()
        return session.scalars(select(Invoice)).all()
    ```

    ## Use instead
    ```python
    def list_invoices():
        with SessionLocal() as session:
            return session.scalars(select(Invoice)).all()
    ```

    ## Fix
    None.

    ## Options
    None.

    ## References
    - SQLAlchemy documentation, "Session basics": open and close the session with a
      context manager.
    """

    code = "POL203"
    name = "session-not-closed"
    family = "create"
    severity = "warning"
    fix = "none"
    valid = (example(_ASYNC + """
        def show():
            session = SessionLocal()
            try:
                return session.get(Item, 1)
            finally:
                session.close()

        def make():
            session = SessionLocal()
            return session
    """),)
    invalid = (example(_ASYNC + """
        async def get_replica():
            session = SessionLocal()
            yield session
    """, expect=[(17, 23, "session `session` is never closed:")]),)

    def check(self, file):
        analysis = file.sessions
        for call in file.calls():
            stmt = file.source.parent(call)
            if not isinstance(stmt, ast.Assign) or stmt.value is not call or len(stmt.targets) != 1 \
                    or not isinstance(stmt.targets[0], ast.Name):
                continue
            func = file.function_of(stmt)
            if func is None or analysis.session_call(call) != "session":
                continue
            if file.resolve(call.func) in SESSION_CLASSES and not _bound_to_engine(analysis, call):
                continue  # Session(bind=connection): it borrows that connection, not a pool slot
            if not _closed(func, stmt.targets[0].id):
                yield Report(node=call.func, span=call, message=SESSION_NOT_CLOSED.format(session=stmt.targets[0].id))


def _bound_to_engine(analysis, call: ast.Call) -> bool:
    bind = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "bind"), None)
    return bind is not None and analysis.is_engine(bind)


def _closed(func, name: str) -> bool:
    for node in walk(func):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name) and node.value.id == name:
            return True
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
                isinstance(item.context_expr, ast.Name) and item.context_expr.id == name for item in node.items):
            return True
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for inner in (n for stmt in node.finalbody for n in walk(stmt)):
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr == "close" \
                        and isinstance(inner.func.value, ast.Name) and inner.func.value.id == name:
                    return True
    return False


@register
class AsyncSessionExpiresOnCommit(Rule):
    """## What it does
    Checks for `async_sessionmaker(...)` and `AsyncSession(...)` calls without an
    `expire_on_commit` keyword.

    ## Why is this bad?
    `expire_on_commit` defaults to `True`: `commit()` expires every loaded object, and the
    next attribute read reloads it from the database. A synchronous session does that
    silently (checking a connection out again); an `AsyncSession` cannot do I/O implicitly,
    so the read raises `MissingGreenlet`, typically in the line that builds the response
    right after `await session.commit()`. An explicit value, either one, is a deliberate
    choice and is not reported.

    ## Example
    ```python
    SessionLocal = async_sessionmaker(engine)
    ```

    ## Use instead
    ```python
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    ```

    ## Fix
    Safe: adds `expire_on_commit=False`.

    ## Options
    None.

    ## References
    - `tests/test_sqlalchemy_facts.py`: `MissingGreenlet` after commit with the default,
      none with `expire_on_commit=False`.
    """

    code = "POL204"
    name = "async-session-expires-on-commit"
    family = "async"
    severity = "warning"
    fix = "safe"
    valid = (example("""
        from sqlalchemy.ext.asyncio import async_sessionmaker
        SessionLocal = async_sessionmaker(engine, expire_on_commit=True)
    """), example("""
        from sqlalchemy.orm import sessionmaker
        SessionLocal = sessionmaker(engine)
    """))
    invalid = (example("""
        from sqlalchemy.ext.asyncio import async_sessionmaker
        SessionLocal = async_sessionmaker(engine)
    """, fixed="""
        from sqlalchemy.ext.asyncio import async_sessionmaker
        SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    """, expect=[(2, 16, "async session without `expire_on_commit`:")]),)

    def check(self, file):
        for call in async_factory_calls(file, file.calls()):
            keys = set()
            for keyword in call.keywords:
                if keyword.arg is not None:
                    keys.add(keyword.arg)
                    continue
                mapping = file.evaluator.mapping(keyword.value, call)
                if mapping is None:
                    keys.add("expire_on_commit")  # an unresolvable **: a deliberate choice
                else:
                    keys.update(mapping)
            if "expire_on_commit" in keys:
                continue
            unresolved = any(k.arg is None for k in call.keywords)
            fix = None if unresolved else KeywordFix(call, "safe", "Add `expire_on_commit=False`",
                                                     insert=(("expire_on_commit", "False"),))
            yield Report(node=call.func, span=call, fix=fix, message=EXPIRES_ON_COMMIT)


@register
class SessionSharedAcrossTasks(Rule):
    """## What it does
    Checks for one session used by, or passed to, several awaitables that run
    concurrently: the arguments of one `asyncio.gather(...)`, or tasks started with
    `create_task(...)` (asyncio or a TaskGroup) in the same scope.

    ## Why is this bad?
    A session is not safe for concurrent use: an `AsyncSession` runs one statement at a
    time on one connection. Two coroutines using it at once fail with "another operation
    is in progress" (asyncio drivers) or SQLAlchemy's `IllegalStateChangeError`, or, worse,
    interleave their transactions. Give each task its own session.

    ## Example
    ```python
    notes, tags = await asyncio.gather(session.scalar(count_notes), session.scalar(count_tags))
    ```

    ## Use instead
    ```python
    notes = await session.scalar(count_notes)
    tags = await session.scalar(count_tags)
    ```

    ## Fix
    None.

    ## Options
    None.

    ## References
    - `tests/test_sqlalchemy_facts.py`: two concurrent statements on one `AsyncSession`
      raise.
    """

    code = "POL205"
    name = "session-shared-across-tasks"
    family = "tasks"
    severity = "error"
    fix = "none"
    valid = (example(_ASYNC + """
        import asyncio

        async def count(model):
            async with SessionLocal() as session:
                return await session.scalar(select(model))

        async def dashboard():
            return await asyncio.gather(count(A), count(B))
    """),)
    invalid = (example(_ASYNC + """
        import asyncio

        async def dashboard():
            async with SessionLocal() as session:
                return await asyncio.gather(session.scalar(select(A)), session.scalar(select(B)))
    """, expect=[(20, 30, "session `session` is used by several awaitables of one gather():")]),)

    def check(self, file):
        if not starts_tasks(file):
            return
        analysis = file.sessions
        for func in file.functions():
            sessions = session_names(analysis, func)
            if not sessions:
                continue
            started: Dict[str, int] = {}
            for call in sorted((n for n in walk(func) if isinstance(n, ast.Call) and file.function_of(n) is func),
                               key=lambda n: (n.lineno, n.col_offset)):
                qualified = file.resolve(call.func)
                if qualified in GATHER:
                    uses: Dict[str, int] = {}
                    for arg in call.args:
                        for name in _uses(arg, sessions):
                            uses[name] = uses.get(name, 0) + 1
                    shared = sorted(name for name, count in uses.items() if count > 1)
                    if shared:
                        yield Report(node=call.func, span=call, message=SHARED_IN_GATHER.format(session=shared[0]))
                elif qualified in CREATE_TASK or (isinstance(call.func, ast.Attribute) and call.func.attr == "create_task"):
                    used = _uses(call, sessions)
                    shared = sorted(name for name in used if name in started)
                    if shared:
                        yield Report(node=call.func, span=call, message=SHARED_WITH_TASK.format(session=shared[0]))
                    for name in used:
                        started[name] = call.lineno


def _uses(node, sessions) -> set:
    return {n.id for n in walk(node) if isinstance(n, ast.Name) and n.id in sessions}
