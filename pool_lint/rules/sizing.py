"""POL105 unbounded-overflow, POL106 implicit-pool-size, POL107 pool-timeout."""
from __future__ import annotations

from ..analysis.engines import MISSING
from .base import example, register
from .engine import EngineRule, show

_IMPORT = "from sqlalchemy import create_engine\n"

MISSING_MAX_OVERFLOW = "engine without `max_overflow`: up to 10 extra connections per process, each closed on return, so every burst pays the handshake again"
UNBOUNDED_OVERFLOW = "`max_overflow={value}` leaves overflow unbounded: a burst can open more connections than the database accepts"
OVERFLOW_ABOVE_LIMIT = "`max_overflow={value}` is above {limit}: overflow connections are closed on return, so bursts keep paying the handshake"
MISSING_POOL_SIZE = "engine without `pool_size`: the implicit 5 connections per process are not a capacity plan"
MISSING_POOL_TIMEOUT = "engine without `pool_timeout`: when the pool is exhausted a request waits the implicit 30 s for a connection"
POOL_TIMEOUT_TOO_LONG = "`pool_timeout={value}` is not below the request timeout ({request_timeout} s): requests wait for a connection after the client has given up"


@register
class UnboundedOverflow(EngineRule):
    """## What it does
    Checks for engines whose `max_overflow` is absent (SQLAlchemy's implicit 10), `-1`
    (no limit at all), or above `max-overflow` (default 0).

    Capacity is planned by the service that runs the pool: the rule applies only where
    the project root's runtime is a long-running server or worker (detected, see `pool-lint
    check --show-runtime`, or `runtime = "server"`). In a library, an SDK, or any project
    whose runtime is unknown or serverless, it is silent: the caller sizes the pool.

    ## Why is this bad?
    Overflow connections are opened beyond `pool_size` when a burst arrives and are closed
    again as soon as they are returned, so every burst pays the connection handshake again.
    They also make the worst case hard to see: (pool_size + max_overflow) x worker
    processes x replicas must fit the database's `max_connections`; with the implicit 10,
    four workers on three pods may open 180 connections, past the cap of a small managed
    tier. `max_overflow=-1` removes the ceiling entirely. `max_overflow=0` makes the
    number exact: size the pool instead.

    ## Example
    ```python
    engine = create_engine(DATABASE_URL, pool_size=20)
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, pool_size=20, max_overflow=0)
    ```

    ## Fix
    Safe when the keyword is absent: adds `max_overflow=<max-overflow>` (default 0). None
    for an explicit value.

    ## Options
    - `max-overflow`: the largest accepted value, and the value the fix inserts (default 0).
    - `runtime`: the rule applies only where it is (or is detected as) `"server"`.

    ## References
    - SQLAlchemy documentation, `QueuePool` (`max_overflow`).
    - `tests/test_sqlalchemy_facts.py`: the implicit overflow is 10.
    """

    code = "POL105"
    name = "unbounded-overflow"
    severity = "warning"
    fix = "safe"
    valid = (example(_IMPORT + "engine = create_engine(URL, max_overflow=0)", runtime="server"),
             example(_IMPORT + "engine = create_engine(URL, max_overflow=5)", max_overflow=5, runtime="server"),
             # A library (no server evidence): its caller plans the capacity.
             example(_IMPORT + "engine = create_engine(URL)"),
             example(_IMPORT + "engine = create_engine(URL, max_overflow=-1)", runtime="serverless"))
    invalid = (
        example(_IMPORT + "engine = create_engine(URL)", fixed=_IMPORT + "engine = create_engine(URL, max_overflow=0)",
                runtime="server", expect=[(2, 10, "engine without `max_overflow`:")]),
        example(_IMPORT + "engine = create_engine(URL, max_overflow=-1)", runtime="server",
                expect=[(2, 10, "`max_overflow=-1` leaves overflow unbounded:")]),
        example(_IMPORT + "engine = create_engine(URL, max_overflow=10)", runtime="server",
                expect=[(2, 10, "`max_overflow=10` is above 0:")]),
        # A server detected from the project's files (a Procfile runs gunicorn).
        example(_IMPORT + "engine = create_engine(URL)", path="app/db.py",
                files=(("pyproject.toml", "[project]\nname = 'shop'\n"), ("Procfile", "web: gunicorn app.main:app\n")),
                expect=[(2, 10, "engine without `max_overflow`:")]),
    )

    def check_call(self, file, call):
        limit = file.settings.max_overflow
        if call.value("max_overflow") is MISSING:
            yield self.report(
                call,
                MISSING_MAX_OVERFLOW,
                self.add(call, "max_overflow", str(limit)),
            )
            return
        value = call.number("max_overflow")
        if value is None:
            return
        if value < 0:
            yield self.report(
                call,
                UNBOUNDED_OVERFLOW.format(value=show(value)),
                severity="error",
            )
        elif value > limit:
            yield self.report(
                call,
                OVERFLOW_ABOVE_LIMIT.format(value=show(value), limit=limit),
            )


@register
class ImplicitPoolSize(EngineRule):
    """## What it does
    Checks for engines without an explicit `pool_size`.

    Capacity is planned by the service that runs the pool: the rule applies only where
    the project root's runtime is a long-running server or worker (detected, see `pool-lint
    check --show-runtime`, or `runtime = "server"`). In a library, an SDK, or any project
    whose runtime is unknown or serverless, it is silent: the caller sizes the pool.

    ## Why is this bad?
    Without it the pool holds SQLAlchemy's implicit 5 connections per process, a number
    nobody chose. The pool size is a capacity decision: it bounds how many requests of one
    worker can use the database at once, and, multiplied by worker processes and replicas,
    how many connections the service can hold open against the database's
    `max_connections`. Write the number down where it can be reviewed.

    ## Example
    ```python
    engine = create_engine(DATABASE_URL)
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, pool_size=20)
    ```

    ## Fix
    Safe: adds `pool_size=<pool-size>` (default 20).

    ## Options
    - `pool-size`: the value the fix inserts.
    - `runtime`: the rule applies only where it is (or is detected as) `"server"`.

    ## References
    - SQLAlchemy documentation, `QueuePool` (`pool_size`).
    - `tests/test_sqlalchemy_facts.py`: the implicit size is 5.
    """

    code = "POL106"
    name = "implicit-pool-size"
    severity = "info"
    fix = "safe"
    valid = (example(_IMPORT + "engine = create_engine(URL, pool_size=int(SIZE))", runtime="server"),
             # A library (no server evidence): its caller plans the capacity.
             example(_IMPORT + "engine = create_engine(URL)"))
    invalid = (
        example(_IMPORT + "engine = create_engine(URL)", fixed=_IMPORT + "engine = create_engine(URL, pool_size=20)",
                runtime="server", expect=[(2, 10, "engine without `pool_size`:")]),
        example(_IMPORT + "engine = create_engine(URL)", fixed=_IMPORT + "engine = create_engine(URL, pool_size=8)",
                pool_size=8, runtime="server", expect=[(2, 10, "engine without `pool_size`:")]),
    )

    def check_call(self, file, call):
        if call.value("pool_size") is MISSING:
            yield self.report(
                call,
                MISSING_POOL_SIZE,
                self.add(call, "pool_size", str(file.settings.pool_size)),
            )


@register
class PoolTimeout(EngineRule):
    """## What it does
    Checks for engines without `pool_timeout`, and, when `request-timeout` is configured,
    for a `pool_timeout` that is not below it.

    Capacity is planned by the service that runs the pool: the rule applies only where
    the project root's runtime is a long-running server or worker (detected, see `pool-lint
    check --show-runtime`, or `runtime = "server"`). In a library, an SDK, or any project
    whose runtime is unknown or serverless, it is silent: the caller sizes the pool.

    ## Why is this bad?
    `pool_timeout` is how long a request waits for a free connection before SQLAlchemy
    raises `TimeoutError` (30 s by default). When the pool is exhausted, a timeout longer
    than the request timeout of the load balancer or worker in front of the service queues
    requests that the client has already given up on, and the worker may be killed before
    the pool answers. A timeout below the request timeout fails fast with an error you can
    see.

    ## Example
    ```python
    engine = create_engine(DATABASE_URL)
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, pool_timeout=10)
    ```

    ## Fix
    Safe when the keyword is absent: adds `pool_timeout=<pool-timeout>` (default 30, or a
    third of `request-timeout` when that is lower). None for a value that is too long.

    ## Options
    - `request-timeout`: the request timeout in front of the service, in seconds.
    - `pool-timeout`: the value the fix inserts (must be below `request-timeout`).
    - `runtime`: the rule applies only where it is (or is detected as) `"server"`.

    ## References
    - SQLAlchemy documentation, `QueuePool` (`timeout`).
    - `tests/test_sqlalchemy_facts.py`: the default timeout is 30 s.
    """

    code = "POL107"
    name = "pool-timeout"
    severity = "warning"
    fix = "safe"
    valid = (
        example(_IMPORT + "engine = create_engine(URL, pool_timeout=30)", runtime="server"),
        example(_IMPORT + "engine = create_engine(URL, pool_timeout=10)", request_timeout=30, runtime="server"),
        # A library (no server evidence): its caller plans the capacity.
        example(_IMPORT + "engine = create_engine(URL, pool_timeout=30)", request_timeout=30),
    )
    invalid = (
        example(_IMPORT + "engine = create_engine(URL)", fixed=_IMPORT + "engine = create_engine(URL, pool_timeout=30)",
                runtime="server", expect=[(2, 10, "engine without `pool_timeout`:")]),
        example(_IMPORT + "engine = create_engine(URL)", fixed=_IMPORT + "engine = create_engine(URL, pool_timeout=10)",
                request_timeout=30, runtime="server", expect=[(2, 10, "engine without `pool_timeout`:")]),
        example(_IMPORT + "engine = create_engine(URL, pool_timeout=30)", request_timeout=30, runtime="server",
                expect=[(2, 10, "`pool_timeout=30` is not below the request timeout (30 s):")]),
    )

    def check_call(self, file, call):
        settings = file.settings
        if call.value("pool_timeout") is MISSING:
            yield self.report(
                call,
                MISSING_POOL_TIMEOUT,
                self.add(call, "pool_timeout", str(settings.fix_pool_timeout)),
            )
            return
        value = call.number("pool_timeout")
        if value is not None and settings.request_timeout is not None and value >= settings.request_timeout:
            yield self.report(
                call,
                POOL_TIMEOUT_TOO_LONG.format(value=show(value), request_timeout=show(settings.request_timeout)),
            )
