"""POL101 missing-pre-ping."""
from __future__ import annotations

from ..analysis.engines import MISSING
from ..analysis.values import UNKNOWN
from .base import example, register
from .engine import EngineRule, show

MISSING_PRE_PING = "engine without `pool_pre_ping=True`: a connection that died while idle fails the next request that checks it out"
PRE_PING_OFF = "`pool_pre_ping={value}` turns pre-ping off: dead connections are handed out instead of being replaced"


@register
class MissingPrePing(EngineRule):
    """## What it does
    Checks for engines built without `pool_pre_ping=True` (the keyword absent, or set to a
    value known to be falsy).

    Silent where the URL is known to be SQLite (or DuckDB, `duckdb:///...`: both run inside
    the process and keep no server connections): a literal or a constant, an f-string
    whose literal head is `sqlite...`, the assignment that reaches the call (the one in
    the call's own `if` / `case` branch, or the only one on every path), or a guard on the
    name (or dotted name) passed as the URL (`url.startswith("sqlite")`,
    `"sqlite" in url`, `url.drivername.startswith("sqlite")`,
    `make_url(url).get_backend_name() == "sqlite"`, inside its branch or after an early
    exit). A URL read from the environment with a SQLite default is not SQLite.

    ## Why is this bad?
    A pooled connection can die while it sits idle: the database, a proxy or a NAT gateway
    closes it after its own idle timeout, or the server restarts. SQLAlchemy does not test a
    connection before handing it out unless `pool_pre_ping` is on (it is off by default), so
    the first request after an idle lull gets a dead connection and fails with an
    "server closed the connection unexpectedly" error. With pre-ping, every checkout runs a
    cheap ping and a dead connection is replaced transparently. Pre-ping cannot save a
    connection that dies in the middle of a transaction, so it complements `pool_recycle`
    rather than replacing it.

    ## Example
    ```python
    engine = create_async_engine(DATABASE_URL)
    ```

    ## Use instead
    ```python
    engine = create_async_engine(DATABASE_URL, pool_pre_ping=True)
    ```

    ## Fix
    Safe when the keyword is absent: adds `pool_pre_ping=True`. Unsafe when it is set to a
    falsy value: sets it to `True` (someone chose that value).

    ## Options
    - `check-tests`: also check test code and migrations.

    ## References
    - SQLAlchemy documentation, "Dealing with Disconnects", pessimistic disconnect handling.
    - `tests/test_sqlalchemy_facts.py`: pre-ping is off by default.
    """

    code = "POL101"
    name = "missing-pre-ping"
    severity = "warning"
    fix = "safe/unsafe"
    valid = (
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine
            engine = create_async_engine(URL, pool_pre_ping=True)
        """),
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine
            engine = create_async_engine("sqlite+aiosqlite:///local.db")
        """),
        example("""
            from sqlalchemy import create_engine
            engine = create_engine("duckdb:///:memory:")
        """),
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine
            def build(url):
                if url.startswith("sqlite"):
                    return create_async_engine(url, connect_args={"check_same_thread": False})
                return create_async_engine(url, pool_pre_ping=True)
        """),
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine
            def build(kind, folder, host):
                match kind:
                    case "file":
                        url = f"sqlite+aiosqlite:///{folder}/cache.db"
                    case _:
                        raise ValueError(kind)
                return create_async_engine(url)
        """),
        example("""
            import sqlalchemy as sa
            from sqlalchemy.pool import NullPool
            engine = sa.create_engine(URL, poolclass=NullPool)
        """),
        example("""
            def create_engine(name):
                return name
            engine = create_engine("search")
        """),
        example("""
            from sqlalchemy import create_engine
            engine = create_engine(URL, **load_options())
        """),
    )
    invalid = (
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine
            engine = create_async_engine(URL)
        """, fixed="""
            from sqlalchemy.ext.asyncio import create_async_engine
            engine = create_async_engine(URL, pool_pre_ping=True)
        """, expect=[(2, 10, "engine without `pool_pre_ping=True`:")]),
        example("""
            from sqlalchemy import make_url
            from sqlalchemy.ext.asyncio import create_async_engine
            def build(url):
                if make_url(url).get_backend_name() != "sqlite":
                    return create_async_engine(url)
                return create_async_engine(url, connect_args={"check_same_thread": False})
        """, expect=[(5, 16, "engine without `pool_pre_ping=True`:")]),
        example("""
            from sqlalchemy.ext.asyncio import create_async_engine
            def build(local, folder):
                if local:
                    url = f"sqlite+aiosqlite:///{folder}/cache.db"
                else:
                    url = "postgresql+asyncpg://app@db/cache"
                return create_async_engine(url)
        """, expect=[(7, 12, "engine without `pool_pre_ping=True`:")]),
        example("""
            import sqlalchemy as sa
            PING = False
            engine = sa.create_engine(URL, pool_pre_ping=PING)
        """, fixed="""
            import sqlalchemy as sa
            PING = False
            engine = sa.create_engine(URL, pool_pre_ping=True)
        """, unsafe=True, expect=[(3, 10, "`pool_pre_ping=False` turns pre-ping off:")]),
    )

    def check_call(self, file, call):
        value = call.value("pool_pre_ping")
        if value is MISSING:
            yield self.report(
                call,
                MISSING_PRE_PING,
                self.add(call, "pool_pre_ping", "True"),
            )
        elif value is not UNKNOWN and not value:
            yield self.report(
                call,
                PRE_PING_OFF.format(value=show(value)),
                self.set(call, "pool_pre_ping", "True"),
            )
