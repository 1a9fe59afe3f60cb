"""POL108 nullpool-on-server, POL109 pool-on-serverless, POL110 pool-args-with-nullpool."""
from __future__ import annotations

from ..analysis import catalog
from .base import example, register
from .engine import EngineRule

_ASYNC = "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
_POOL_NAMES = {"null": "NullPool", "static": "StaticPool", "singleton": "SingletonThreadPool", "assertion": "AssertionPool"}

NULLPOOL_ON_SERVER = "NullPool on a long-running server ({evidence}): every request opens and closes a new connection, paying the handshake each time"
POOL_ON_SERVERLESS = "a connection pool on a serverless runtime ({evidence}): connections stay open while the function is frozen and go stale; use NullPool"
KEYWORDS_REJECTED = "{keywords} {verb} rejected by {pool}: creating the engine raises TypeError at start-up"


@register
class NullPoolOnServer(EngineRule):
    """## What it does
    Checks for engines with `poolclass=NullPool` in a project that runs as a long-lived
    server (uvicorn, gunicorn, a Procfile, a Dockerfile `CMD`, a web app object), unless the
    database is reached through PgBouncer or a proxy.

    ## Why is this bad?
    `NullPool` opens a new connection for every checkout and closes it on return. That is
    right for a function that is frozen between invocations, or behind PgBouncer in
    transaction mode, which pools the server connections itself. On a long-running worker
    it means every request pays the TCP, TLS and authentication handshake (5-15 ms on a
    managed database), and a traffic spike becomes a connection storm on the database.

    pool-lint decides where the code runs from evidence in the project (see `pool-lint
    check --show-runtime`); the message names the evidence. It stays silent when the
    runtime is unknown, when the pool class is a deliberate switch
    (`NullPool if serverless else AsyncAdaptedQueuePool`), and for URLs that are known to
    point at PgBouncer or a proxy (host containing `pgbouncer` or `proxy`, or port 6432).
    A URL read from the environment is not known to be one.

    ## Example
    ```python
    engine = create_async_engine(DATABASE_URL, poolclass=NullPool)  # served by gunicorn
    ```

    ## Use instead
    ```python
    engine = create_async_engine(DATABASE_URL, pool_pre_ping=True, pool_recycle=3600,
                                 pool_size=20, max_overflow=0, pool_timeout=30)
    ```

    ## Fix
    None: choosing a pool is a deployment decision.

    ## Options
    - `runtime`: `"auto"` (default), `"server"` or `"serverless"`.
    - `external-pooler`: set `true` when the service reaches its database through PgBouncer
      or a proxy; the rule then stays silent.

    ## References
    - SQLAlchemy documentation, "Switching Pool Implementations" and "Using Connection
      Pools with Multiprocessing or os.fork()".
    """

    code = "POL108"
    name = "nullpool-on-server"
    severity = "error"
    fix = "none"
    valid = (
        example(_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool)", runtime="serverless"),
        example(_ASYNC + "engine = create_async_engine('postgresql+asyncpg://u@db:6432/app', poolclass=NullPool)",
                runtime="server"),
        example(_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool)", runtime="server", external_pooler=True),
        example(_ASYNC + "from sqlalchemy.pool import AsyncAdaptedQueuePool\n"
                "engine = create_async_engine(URL, poolclass=NullPool if LAMBDA else AsyncAdaptedQueuePool)",
                runtime="server"),
    )
    invalid = (example(_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool)", runtime="server",
                       expect=[(3, 10, 'NullPool on a long-running server (runtime = "server" in configuration):')]),)

    def check_call(self, file, call):
        if call.pool_kind != "null" or file.settings.external_pooler or call.url.is_pooler:
            return
        runtime = file.runtime
        if runtime.kind == "server":
            yield self.report(
                call,
                NULLPOOL_ON_SERVER.format(evidence=runtime.short()),
            )


@register
class PoolOnServerless(EngineRule):
    """## What it does
    Checks for engines with a queue pool (SQLAlchemy's default, or an explicit
    `QueuePool`/`AsyncAdaptedQueuePool`) in a project that runs on a serverless runtime
    (AWS Lambda through Mangum or Chalice, Google Cloud Functions, Azure Functions, the
    Serverless Framework, Zappa, SAM).

    ## Why is this bad?
    A serverless function instance is frozen between invocations and killed without
    warning. Pooled connections stay open on the database side while the instance sleeps,
    go stale, and count against `max_connections` for every instance the platform keeps
    warm. `NullPool` opens a connection per invocation and closes it before the function
    returns.

    ## Example
    ```python
    engine = create_engine(DATABASE_URL)  # deployed with serverless.yml
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, poolclass=NullPool)
    ```

    ## Fix
    None: choosing a pool is a deployment decision.

    ## Options
    - `runtime`: `"auto"` (default), `"server"` or `"serverless"`.

    ## References
    - SQLAlchemy documentation, "Switching Pool Implementations".
    """

    code = "POL109"
    name = "pool-on-serverless"
    severity = "warning"
    fix = "none"
    valid = (
        example(_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool)", runtime="serverless"),
        example(_ASYNC + "engine = create_async_engine(URL)", runtime="server"),
    )
    invalid = (example(_ASYNC + "engine = create_async_engine(URL)", runtime="serverless",
                       expect=[(3, 10, 'a connection pool on a serverless runtime (runtime = "serverless" in configuration):')]),)

    def check_call(self, file, call):
        if call.effective_pool != "queue":
            return
        runtime = file.runtime
        if runtime.kind == "serverless":
            yield self.report(
                call,
                POOL_ON_SERVERLESS.format(evidence=runtime.short()),
            )


@register
class PoolArgsWithNullPool(EngineRule):
    """## What it does
    Checks for pool keywords that the chosen pool class does not accept: `pool_size`,
    `max_overflow`, `pool_timeout` and `pool_use_lifo` with `NullPool`, `StaticPool` or
    `AssertionPool`; `max_overflow`, `pool_timeout` and `pool_use_lifo` with
    `SingletonThreadPool` (which does accept `pool_size`).

    ## Why is this bad?
    SQLAlchemy raises `TypeError: Invalid argument(s) 'pool_size' sent to create_engine()`
    when the engine is created, so the service does not start. (`pool_pre_ping` and
    `pool_recycle` are accepted by every pool class.)

    ## Example
    ```python
    engine = create_async_engine(DATABASE_URL, poolclass=NullPool, pool_size=10)
    ```

    ## Use instead
    ```python
    engine = create_async_engine(DATABASE_URL, poolclass=NullPool)
    ```

    ## Fix
    Safe: removes the rejected keywords with their separators (the call cannot work as
    written). Keywords that come from a `**mapping` are not at the call and are left alone.

    ## Options
    None.

    ## References
    - `tests/test_sqlalchemy_facts.py`: the `TypeError` for each pool class and keyword.
    """

    code = "POL110"
    name = "pool-args-with-nullpool"
    severity = "error"
    fix = "safe"
    valid = (
        example("from sqlalchemy import create_engine\nfrom sqlalchemy.pool import SingletonThreadPool\n"
                "engine = create_engine('sqlite:///t.db', poolclass=SingletonThreadPool, pool_size=4)"),
        example(_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool, pool_pre_ping=True, pool_recycle=600)"),
    )
    invalid = (
        example(_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool, pool_size=5)",
                fixed=_ASYNC + "engine = create_async_engine(URL, poolclass=NullPool)",
                expect=[(3, 10, "`pool_size` is rejected by NullPool:")]),
        example("from sqlalchemy import create_engine\nfrom sqlalchemy.pool import StaticPool\n"
                "engine = create_engine('sqlite://', poolclass=StaticPool, pool_size=1)",
                fixed="from sqlalchemy import create_engine\nfrom sqlalchemy.pool import StaticPool\n"
                "engine = create_engine('sqlite://', poolclass=StaticPool)",
                expect=[(3, 10, "`pool_size` is rejected by StaticPool:")]),
    )

    def check_call(self, file, call):
        rejected = catalog.REJECTED_KEYWORDS.get(call.pool_kind or "")
        if not rejected:
            return
        present = [name for name in rejected if name in call.keywords]
        if not present:
            return
        pool = _POOL_NAMES[call.pool_kind]
        listed = ", ".join(f"`{name}`" for name in present)
        yield self.report(
            call,
            KEYWORDS_REJECTED.format(keywords=listed, verb="is" if len(present) == 1 else "are", pool=pool),
            self.remove(call, present, f"Remove {listed}"),
        )
