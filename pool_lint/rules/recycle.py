"""POL102 missing-recycle, POL103 aggressive-recycle, POL104 recycle-over-idle-timeout."""
from __future__ import annotations

from ..analysis.engines import MISSING
from .base import example, register
from .engine import EngineRule, show

_IMPORT = "from sqlalchemy.ext.asyncio import create_async_engine\n"

MISSING_RECYCLE = "engine without `pool_recycle`: connections are never recycled and outlive the server's idle timeout"
NEVER_RECYCLES = "`pool_recycle={value}` never recycles: connections outlive the server's idle timeout"
RECYCLE_TOO_SHORT = "`pool_recycle={value}` is below {minimum} s: the pool keeps reopening connections, paying a handshake each time"
RECYCLE_TOO_LONG = "`pool_recycle={value}` is above {maximum} s: connections may outlive the database's idle timeout"


@register
class MissingRecycle(EngineRule):
    """## What it does
    Checks for engines without `pool_recycle`, or with a negative one (`-1`, "never").

    Silent where the URL is known to be SQLite (or DuckDB, `duckdb:///...`: both run inside
    the process and keep no server connections): a literal or a constant, an f-string
    whose literal head is `sqlite...`, the assignment that reaches the call (the one in
    the call's own `if` / `case` branch, or the only one on every path), or a guard on the
    name (or dotted name) passed as the URL (`url.startswith("sqlite")`,
    `"sqlite" in url`, `url.drivername.startswith("sqlite")`,
    `make_url(url).get_backend_name() == "sqlite"`, inside its branch or after an early
    exit). A URL read from the environment with a SQLite default is not SQLite.

    ## Why is this bad?
    SQLAlchemy's default is `pool_recycle=-1`: a pooled connection is kept for the life of
    the process. Every hop between the service and the database has an idle timeout
    (managed Postgres tiers close idle connections after 5 to 30 minutes, MySQL's
    `wait_timeout` is 8 hours, proxies and load balancers have their own). A connection
    older than that is dead when it is next checked out. `pool_recycle=N` retires a
    connection older than N seconds at its next checkout, before the server does.

    ## Example
    ```python
    engine = create_async_engine(DATABASE_URL, pool_pre_ping=True)
    ```

    ## Use instead
    ```python
    engine = create_async_engine(DATABASE_URL, pool_pre_ping=True, pool_recycle=3600)
    ```

    ## Fix
    Safe when the keyword is absent: adds `pool_recycle=<recycle-seconds>` (default 3600).
    None for a negative value.

    ## Options
    - `recycle-seconds`: the value the fix inserts (between `min-recycle` and `max-recycle`).

    ## References
    - SQLAlchemy documentation, "Setting Pool Recycle".
    - `tests/test_sqlalchemy_facts.py`: the default recycle is -1.
    """

    code = "POL102"
    name = "missing-recycle"
    severity = "warning"
    fix = "safe"
    valid = (example(_IMPORT + "engine = create_async_engine(URL, pool_recycle=1800)"),
             example(_IMPORT + "def build(url):\n    if 'sqlite' in url:\n        return create_async_engine(url)\n"
                     "    return create_async_engine(url, pool_recycle=1800)"))
    invalid = (
        example(_IMPORT + "engine = create_async_engine(URL)",
                fixed=_IMPORT + "engine = create_async_engine(URL, pool_recycle=3600)",
                expect=[(2, 10, "engine without `pool_recycle`:")]),
        example(_IMPORT + "def build(url):\n    if 'sqlite' not in url:\n        return create_async_engine(url)",
                expect=[(4, 16, "engine without `pool_recycle`:")]),
        example(_IMPORT + "engine = create_async_engine(URL, pool_recycle=-1)",
                expect=[(2, 10, "`pool_recycle=-1` never recycles:")]),
        example(_IMPORT + "engine = create_async_engine(URL)",
                fixed=_IMPORT + "engine = create_async_engine(URL, pool_recycle=1800)",
                recycle_seconds=1800, expect=[(2, 10, "engine without `pool_recycle`:")]),
    )

    def check_call(self, file, call):
        value = call.number("pool_recycle")
        if call.value("pool_recycle") is MISSING:
            yield self.report(
                call,
                MISSING_RECYCLE,
                self.add(call, "pool_recycle", str(file.settings.recycle_seconds)),
            )
        elif value is not None and value < 0:
            yield self.report(
                call,
                NEVER_RECYCLES.format(value=show(value)),
            )


@register
class AggressiveRecycle(EngineRule):
    """## What it does
    Checks for a `pool_recycle` below `min-recycle` (default 300 seconds).

    ## Why is this bad?
    Recycling retires a connection at its next checkout once it is older than the given
    number of seconds. A very short recycle (60 s) makes the pool close and reopen its
    connections continuously, paying the TCP, TLS and authentication handshake (5-15 ms on
    a managed database) again and again: a pool that behaves like `NullPool`, with extra
    steps. Pick a value just below the shortest idle timeout on the path instead.

    ## Example
    ```python
    engine = create_async_engine(DATABASE_URL, pool_recycle=60)
    ```

    ## Use instead
    ```python
    engine = create_async_engine(DATABASE_URL, pool_recycle=1800)
    ```

    ## Fix
    Unsafe: sets `pool_recycle=<recycle-seconds>` (someone chose the short value).

    ## Options
    - `min-recycle`: report values below this (default 300).
    - `recycle-seconds`: the value the fix sets.

    ## References
    - SQLAlchemy documentation, "Setting Pool Recycle".
    """

    code = "POL103"
    name = "aggressive-recycle"
    severity = "warning"
    fix = "unsafe"
    valid = (example(_IMPORT + "engine = create_async_engine(URL, pool_recycle=300)"),)
    invalid = (
        example(_IMPORT + "engine = create_async_engine(URL, pool_recycle=60)",
                fixed=_IMPORT + "engine = create_async_engine(URL, pool_recycle=3600)", unsafe=True,
                expect=[(2, 10, "`pool_recycle=60` is below 300 s:")]),
        example("from sqlalchemy import engine_from_config\n"
                "CONFIG = {'sqlalchemy.url': 'postgresql://db/app', 'sqlalchemy.pool_recycle': '120'}\n"
                "engine = engine_from_config(CONFIG)", expect=[(3, 10, "`pool_recycle=120` is below 300 s:")]),
    )

    def check_call(self, file, call):
        value = call.number("pool_recycle")
        if value is not None and 0 <= value < file.settings.min_recycle:
            yield self.report(
                call,
                RECYCLE_TOO_SHORT.format(value=show(value), minimum=file.settings.min_recycle),
                self.set(call, "pool_recycle", str(file.settings.recycle_seconds)),
            )


@register
class RecycleOverIdleTimeout(EngineRule):
    """## What it does
    Checks for a `pool_recycle` above `max-recycle` (default 3600 seconds; set it to your
    provider's idle timeout).

    ## Why is this bad?
    Recycling only helps when it retires a connection before something on the path closes
    it for being idle. A recycle longer than that idle timeout lets dead connections sit in
    the pool; the request that checks one out fails (or pays a pre-ping round trip and a
    reconnect).

    ## Example
    ```python
    engine = create_engine(DATABASE_URL, pool_recycle=4 * 60 * 60)
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, pool_recycle=3600)
    ```

    ## Fix
    Unsafe: sets `pool_recycle=<max-recycle>`.

    ## Options
    - `max-recycle`: report values above this (default 3600).

    ## References
    - SQLAlchemy documentation, "Setting Pool Recycle"; MySQL `wait_timeout` (8 h by default).
    """

    code = "POL104"
    name = "recycle-over-idle-timeout"
    severity = "warning"
    fix = "unsafe"
    valid = (example(_IMPORT + "engine = create_async_engine(URL, pool_recycle=3600)"),)
    invalid = (
        example(_IMPORT + "engine = create_async_engine(URL, pool_recycle=4 * 60 * 60)",
                fixed=_IMPORT + "engine = create_async_engine(URL, pool_recycle=3600)", unsafe=True,
                expect=[(2, 10, "`pool_recycle=14400` is above 3600 s:")]),
    )

    def check_call(self, file, call):
        value = call.number("pool_recycle")
        if value is not None and value > file.settings.max_recycle:
            yield self.report(
                call,
                RECYCLE_TOO_LONG.format(value=show(value), maximum=file.settings.max_recycle),
                self.set(call, "pool_recycle", str(file.settings.max_recycle)),
            )
