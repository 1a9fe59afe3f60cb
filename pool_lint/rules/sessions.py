"""POL201-POL205: what happens while a session or connection holds a pooled connection."""
from __future__ import annotations

import ast
import textwrap
from typing import Dict, List, Set

from ..analysis.tree import statements, walk
from ..analysis.sessions import (CREATE_TASK, GATHER, SESSION_CLASSES, async_factory_calls, session_names,
                                 starts_tasks)
from ..fixes import KeywordFix
from .base import Report, Rule, example, register

HOLDING_CONNECTION = ("`{call}` while `{session}` holds a pooled connection: the slot stays checked out for the whole "
                      "call; commit or release before calling out")
IN_SESSION_SCOPE = ("`{call}` inside the scope of `{session}` (it holds no connection now): keep external calls "
                    "outside session scopes so they cannot start holding one")
# POL203's messages say exactly what the leak costs (SPEC 3b).
RELEASED_ONLY_ON_NORMAL_PATHS = (
    "session {session} is not closed by `with` or in `finally`: its normal path gives the connection back with "
    "commit(), rollback() or close(), but an exception between its first statement and that call leaves it checked "
    "out until garbage collection (which cannot close an async driver's connection cleanly)")
NEVER_RELEASED = (
    "session {session} is never closed: where no commit(), rollback() or close() runs, its connection stays checked "
    "out until the session is garbage-collected; use `with` or close it in `finally`")
EXPIRES_ON_COMMIT = ("async session without `expire_on_commit`: commit() expires loaded objects and reading one "
                     "afterwards raises MissingGreenlet")
SHARED_IN_GATHER = ("session `{session}` is used by several awaitables of one gather(): a session runs one statement "
                    "at a time; give each task its own session")
SHARED_WITH_TASK = ("session `{session}` is shared with a task started earlier: a session runs one statement at a "
                    "time; give each task its own session")

_ASYNC = """
from fastapi import Depends, FastAPI
import httpx
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


def _async(body: str) -> str:
    """An example on the module above (its body dedented: at module level)."""
    return _ASYNC + "\n" + textwrap.dedent(body)


def _external_reports(file, code: str) -> List[Report]:
    out = []
    analysis = file.sessions
    for func in file.functions():
        for found in analysis.flow(func).externals:
            if found.code != code:
                continue
            template = HOLDING_CONNECTION if code == "POL201" else IN_SESSION_SCOPE
            out.append(Report(node=found.call.func, span=found.call,
                              message=template.format(call=found.description, session=found.session)))
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
    enough) and through the project's own functions. A session or connection handed out
    by the project's own code counts wherever it is used, like a dependency's: `with
    get_session() as s` (a function that returns one), `async with db.session_context()
    as s` (an `@asynccontextmanager` method that yields one), `s = await open_session()`;
    a wrapper that yields after a statement, or inside `engine.connect()` /
    `engine.begin()`, hands over a connection already held.

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
    - `check-tests`: report in test code too (off by default: test sessions are fixtures,
      and test clients call the app in-process; a client on `httpx.ASGITransport` or
      `WSGITransport` is never an external call).

    ## References
    - `tests/test_sqlalchemy_facts.py` and `tests/test_session_differential.py`: when the
      real SQLAlchemy checks a connection out and returns it, through the project's own
      session wrappers too.
    - Known limit: a sync session reloads an expired attribute read after `commit()` (a
      new checkout); pool-lint does not track attribute reads.
    """

    code = "POL201"
    name = "external-call-holding-connection"
    family = "external"
    severity = "warning"
    fix = "none"
    valid = (example(_async("""
        @app.post("/pay")
        async def pay(order_id: int, session: AsyncSession = Depends(get_session)):
            total = await session.scalar(text("select total from orders"))
            await session.commit()
            await client.post("/charges", json={"amount": total})
    """)),)
    invalid = (example(_async("""
        @app.post("/pay")
        async def pay(order_id: int, session: AsyncSession = Depends(get_session)):
            total = await session.scalar(text("select total from orders"))
            await client.post("/charges", json={"amount": total})
            await session.commit()
    """), expect=[(19, 11, "`httpx.AsyncClient.post` while `session` holds a pooled connection:")]), example("""
        import requests
        from sqlalchemy import create_engine, text
        engine = create_engine(URL)

        def void(invoice_id):
            with engine.begin() as conn:
                requests.get(f"https://payments.example.com/{invoice_id}", timeout=5)
                conn.execute(text("update invoices set voided = true"))
    """, expect=[(7, 9, "`requests.get` while `conn` holds a pooled connection:")]), example(_async("""
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def session_scope():
            async with SessionLocal() as session:
                yield session

        async def claim(booking_id: int):
            async with session_scope() as session:
                booking = await session.get(Booking, booking_id)
                await client.post("/claims", json={"booking": booking.id})
                await session.commit()
    """), expect=[(26, 15, "`httpx.AsyncClient.post` while `session` holds a pooled connection:")]))

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
    valid = (example(_async("""
        async def quote(base):
            rate = await client.get("/latest", params={"base": base})
            async with SessionLocal() as session:
                await session.commit()
    """)),)
    invalid = (example(_async("""
        async def quote(base):
            async with SessionLocal() as session:
                rate = await client.get("/latest", params={"base": base})
                await session.commit()
    """), expect=[(18, 22, "`httpx.AsyncClient.get` inside the scope of `session` (it holds no connection now):")]),)

    def check(self, file):
        return _external_reports(file, self.code)


@register
class SessionNotClosed(Rule):
    """## What it does
    Checks for sessions created outside a `with` block and not closed in a `finally`
    (or handed to a context manager), including a `yield` dependency that never closes
    the session it yields, a session made from a factory built in the function
    (`maker = sessionmaker(bind=engine); db = maker()`), and a session created inline as
    an argument of a project function (`run(db_session=SessionLocal())`) that does not
    close it. A session returned to the caller is the caller's to close.

    ## Why is this bad?
    The message says which of two costs applies. Where no `commit()`, `rollback()` or
    `close()` runs, the session keeps its connection checked out until the garbage
    collector happens to reclaim the session. Where the normal path ends in one of them,
    the connection leaks only when an exception escapes between the first statement and
    that call: then it stays checked out until garbage collection, which cannot give an
    async driver's connection back at all (SQLAlchemy terminates it with a warning).
    Under load the pool runs dry while idle sessions sit on its connections.

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
    - `check-tests`: report in test code too (off by default: test sessions are fixtures).

    ## References
    - SQLAlchemy documentation, "Session basics": open and close the session with a
      context manager.
    - `tests/test_sqlalchemy_facts.py`: an unclosed session holds its connection until it
      is collected; an exception before `commit()` leaves it checked out; collection
      cannot check an async connection back in.
    """

    code = "POL203"
    name = "session-not-closed"
    family = "create"
    severity = "warning"
    fix = "none"
    valid = (example(_async("""
        def show():
            session = SessionLocal()
            try:
                return session.get(Item, 1)
            finally:
                session.close()

        def make():
            session = SessionLocal()
            return session
    """)),)
    invalid = (example(_async("""
        async def get_replica():
            session = SessionLocal()
            yield session
    """), expect=[(17, 15, "session `session` is never closed: where no commit(), rollback() or close()")]), example("""
        from sqlalchemy import create_engine, delete
        from sqlalchemy.orm import sessionmaker

        engine = create_engine(URL)

        def release_expired_holds():
            maker = sessionmaker(bind=engine)
            db = maker()
            db.execute(delete(Hold))
            db.commit()
    """, expect=[(8, 10, "session `db` is not closed by `with` or in `finally`: its normal path gives")]), example("""
        from sqlalchemy import create_engine, select
        from sqlalchemy.orm import sessionmaker

        engine = create_engine(URL)
        SessionLocal = sessionmaker(bind=engine)

        def overdue(db_session):
            return list(db_session.scalars(select(Booking.id)))

        def main():
            print(overdue(db_session=SessionLocal()))
    """, expect=[(11, 30, "session `SessionLocal()` passed to `overdue()` is never closed:")]))

    def check(self, file):
        analysis = file.sessions
        closed: Dict[int, Set[str]] = {}  # a function -> the names it closes (_closed_names)
        for call in file.calls():
            parent = file.source.parent(call)
            assigned = isinstance(parent, ast.Assign) and parent.value is call and len(parent.targets) == 1 \
                and isinstance(parent.targets[0], ast.Name)
            outer = file.source.parent(parent) if isinstance(parent, ast.keyword) else parent
            inline = isinstance(outer, ast.Call) and call is not outer.func
            if not (assigned or inline):
                continue
            # A session made inline is reported only where the call it is passed to does
            # not hand its result on and may call a project function: both asked first,
            # from the syntax alone, which spares resolving the callee of every other call
            # passed as an argument (`select(X).where(X.id.in_(ids))`).
            if inline and (_handed_on(file, outer) or not analysis.may_call_project(outer)):
                continue
            func = file.function_of(call)
            if func is None:
                continue
            # Likewise a variable the function closes (`obj = Model(...)`, `return obj`).
            if assigned and parent.targets[0].id in _closed_names(func, closed):
                continue
            if analysis.session_call(call) != "session":
                continue
            if file.resolve(call.func) in SESSION_CLASSES and not _bound_to_engine(analysis, call):
                continue  # Session(bind=connection): it borrows that connection, not a pool slot
            if assigned:
                name = parent.targets[0].id
                released = analysis.released_on_normal_paths(func, name)
                described = f"`{name}`"
            else:
                passed = analysis.passed_to(outer, call)
                if passed is None:
                    continue  # not a project function: what it does with the session is unknown
                callee, param, effect = passed
                if param in _closed_names(callee, closed) or _escapes(callee, param):
                    continue
                released = effect == "release"
                described = f"`{ast.unparse(call.func)}()` passed to `{callee.name}()`"
            template = RELEASED_ONLY_ON_NORMAL_PATHS if released else NEVER_RELEASED
            yield Report(node=call.func, span=call, message=template.format(session=described))


def _handed_on(file, call: ast.Call) -> bool:
    """Does the call whose argument a session is hand its result on: returned, yielded,
    or entered by a `with` (`with closing(Session(engine))`)?"""
    for node in file.source.ancestors(call):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.withitem)):
            return True
        if isinstance(node, ast.stmt):
            return False
    return False


def _escapes(func, name: str) -> bool:
    """Does a function hand the session it was given on: return or yield it (or an
    object built on it, `Repository(session)`), or store it (`self.session = session`,
    `registry[k] = session`)? What its methods return (`session.scalars(...)`) is not it."""
    def holds(expr) -> bool:
        bases = {id(n.value) for n in walk(expr) if isinstance(n, ast.Attribute)}
        return any(isinstance(n, ast.Name) and n.id == name and id(n) not in bases for n in walk(expr))

    for node in walk(func):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None and holds(node.value):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and holds(node.value) \
                and any(isinstance(t, (ast.Attribute, ast.Subscript))
                        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            return True
    return False


def _bound_to_engine(analysis, call: ast.Call) -> bool:
    bind = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "bind"), None)
    return bind is not None and analysis.is_engine(bind)


def _closed_names(func, memo: Dict[int, Set[str]]) -> Set[str]:
    """The names a function (nested ones included) returns (`return name`), enters in
    a `with` (`with name:`) or closes in a `finally` (`name.close()`). One walk per
    function, kept in `memo`."""
    found = memo.get(id(func))
    if found is not None:
        return found
    found = memo[id(func)] = set()
    for node in statements(func):  # what is looked for is statements (walk(func) would visit every expression)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
            found.add(node.value.id)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            found.update(item.context_expr.id for item in node.items if isinstance(item.context_expr, ast.Name))
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for inner in (n for stmt in node.finalbody for n in walk(stmt)):
                called = inner.func if isinstance(inner, ast.Call) else None
                if isinstance(called, ast.Attribute) and called.attr == "close" and isinstance(called.value, ast.Name):
                    found.add(called.value.id)
    return found


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
    - `check-tests`: report in test code too (off by default: a test's session factory is
      a fixture).

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
    interleave their transactions. Give each task its own session. A session handed out
    by the project's own code (`async with db.session_context() as session`) is one
    session too.

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
    valid = (example(_async("""
        import asyncio

        async def count(model):
            async with SessionLocal() as session:
                return await session.scalar(select(model))

        async def dashboard():
            return await asyncio.gather(count(A), count(B))
    """)),)
    invalid = (example(_async("""
        import asyncio

        async def dashboard():
            async with SessionLocal() as session:
                return await asyncio.gather(session.scalar(select(A)), session.scalar(select(B)))
    """), expect=[(20, 22, "session `session` is used by several awaitables of one gather():")]), example(_async("""
        import asyncio
        from contextlib import asynccontextmanager

        class Database:
            @asynccontextmanager
            async def session_context(self):
                async with SessionLocal() as session:
                    yield session

        async def count(session, model):
            return await session.scalar(select(model))

        async def overview(db: Database):
            async with db.session_context() as session:
                return await asyncio.gather(count(session, A), count(session, B))
    """), expect=[(30, 22, "session `session` is used by several awaitables of one gather():")]))

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
