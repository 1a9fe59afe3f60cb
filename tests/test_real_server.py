"""The rules' claims against a real PostgreSQL (and PgBouncer), not a mock:

(a) POL101: with `pool_pre_ping=False`, the first use of a pooled connection whose backend
    was terminated (`pg_terminate_backend`, as an idle timeout or a failover does) fails;
    with `pool_pre_ping=True` the pool replaces it silently.
(b) POL102/POL103: `pool_recycle` retires a connection older than the limit at its next
    checkout (pool events: a new connection, a new backend).
(c) POL112: two processes whose pool caps add up past `max_connections` get "remaining
    connection slots are reserved" (the statically computed worst case says so first).
(d) POL113: asyncpg through PgBouncer in transaction mode fails with two processes unless
    `statement_cache_size=0` (or unique statement names); `prepared_statement_cache_size=0`
    alone does not help.

The servers are throwaway clusters (tests/realserver.py): only the binaries are needed. A
test that cannot start a server is skipped with the reason (a failure under CI=true).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from realserver import PgBouncer, Postgres, Unavailable

psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 (test extras) is needed to talk to the real server")


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI installs PostgreSQL and PgBouncer, but: {reason}")
    pytest.skip(reason)


def _start(server):
    try:
        return server.start()
    except Unavailable as exc:
        server.stop()
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def postgres():
    try:
        server = Postgres(max_connections=20)
    except Unavailable as exc:
        _unavailable(str(exc))
    _start(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pgbouncer(postgres):
    try:
        bouncer = PgBouncer(postgres, pool_mode="transaction", pool_size=1)
    except Unavailable as exc:
        _unavailable(str(exc))
    _start(bouncer)
    yield bouncer
    bouncer.stop()


# -- (a) pre-ping -------------------------------------------------------------------------------
@pytest.mark.parametrize("pre_ping", [False, True])
def test_pre_ping_replaces_a_terminated_connection(postgres, pre_ping):
    from sqlalchemy import create_engine, exc, text

    engine = create_engine(postgres.url(), pool_size=1, max_overflow=0, pool_pre_ping=pre_ping)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("select pg_backend_pid()")).scalar_one()
        # The pooled connection's backend goes away while it is idle in the pool.
        assert postgres.sql("select pg_terminate_backend(%s)", first) == [(True,)]
        time.sleep(0.2)
        if not pre_ping:
            with pytest.raises(exc.OperationalError) as raised:
                with engine.connect() as connection:
                    connection.execute(text("select pg_backend_pid()"))
            assert "terminating connection" in str(raised.value) or "closed the connection" in str(raised.value)
        else:
            with engine.connect() as connection:
                second = connection.execute(text("select pg_backend_pid()")).scalar_one()
            assert second != first  # replaced silently, at checkout
    finally:
        engine.dispose()


# -- (b) recycle --------------------------------------------------------------------------------
@pytest.mark.parametrize("recycle", [-1, 1])
def test_pool_recycle_rotates_a_connection_past_its_age(postgres, recycle):
    from sqlalchemy import create_engine, event, text

    engine = create_engine(postgres.url(), pool_size=1, max_overflow=0, pool_recycle=recycle)
    connects = []
    event.listen(engine.pool, "connect", lambda dbapi, record: connects.append(time.monotonic()))
    try:
        with engine.connect() as connection:
            first = connection.execute(text("select pg_backend_pid()")).scalar_one()
        time.sleep(1.3)
        with engine.connect() as connection:
            second = connection.execute(text("select pg_backend_pid()")).scalar_one()
    finally:
        engine.dispose()
    if recycle < 0:
        assert (second, len(connects)) == (first, 1)  # never recycled: the same backend
    else:
        assert second != first and len(connects) == 2  # older than 1 s: replaced at checkout


# -- (c) the budget -----------------------------------------------------------------------------
_HOLDER = textwrap.dedent("""
    import sys, json
    from sqlalchemy import create_engine, text
    engine = create_engine(sys.argv[1], pool_size=2, max_overflow=1, pool_timeout=2)  # cap 3
    held, results = [], []
    for _ in range(3):
        try:
            connection = engine.connect()
            connection.execute(text("select 1"))
            held.append(connection)
            results.append("ok")
        except Exception as error:
            results.append(str(error).splitlines()[0])
    print(json.dumps(results), flush=True)
    sys.stdin.read()  # hold the connections until told
""")


def test_two_processes_past_max_connections_are_refused(project, cli):
    # The worst case as pool-lint computes it from the repository: 1 process x 2 replicas x
    # (2 + 1) = 6 connections against max_connections 5.
    project.write("docker-compose.yml", textwrap.dedent("""\
        services:
          worker:
            build: .
            command: gunicorn --workers 1 app.db:app
            environment:
              DATABASE_URL: postgresql+psycopg2://app@db:5432/postgres
            deploy:
              replicas: 2
          db:
            image: postgres:15
            command: postgres -c max_connections=5 -c superuser_reserved_connections=1
        """))
    project.write("app/__init__.py", "")
    project.write("app/db.py", textwrap.dedent("""\
        import os
        from sqlalchemy import create_engine
        engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True, pool_recycle=3600,
                               pool_size=2, max_overflow=1, pool_timeout=2)
        """))
    found = cli("check", "--no-cache", "--select", "POL112", "--output-format", "json", ".", cwd=project.root)
    findings = json.loads(found.stdout)
    assert [f["code"] for f in findings] == ["POL112"], found.stdout + found.stderr
    assert findings[0]["message"].startswith("worst case 6 connections to db (max_connections 5")

    # The same deployment on a real server: two processes, each holding its pool's cap.
    try:
        server = Postgres(max_connections=5, reserved=1)
    except Unavailable as exc:
        _unavailable(str(exc))
    _start(server)
    first = subprocess.Popen([sys.executable, "-c", _HOLDER, server.url()], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        first_results = json.loads(first.stdout.readline())
        second = subprocess.run([sys.executable, "-c", _HOLDER, server.url()], input="", capture_output=True,
                                text=True, timeout=60)
        second_results = json.loads(second.stdout.splitlines()[0])
    finally:
        first.stdin.close()
        first.wait(timeout=30)
        server.stop()
    assert first_results == ["ok", "ok", "ok"]
    assert second_results[0] == "ok"
    refused = [r for r in second_results if r != "ok"]
    assert refused and "remaining connection slots are reserved" in refused[0], second_results


# -- (d) asyncpg through PgBouncer ----------------------------------------------------------------
_CLIENT = textwrap.dedent("""
    import asyncio, json, sys, uuid
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    ARGS = {
        "none": {},
        "prepared_statement_cache_size=0": {"prepared_statement_cache_size": 0},
        "statement_cache_size=0": {"statement_cache_size": 0},
        "both": {"statement_cache_size": 0, "prepared_statement_cache_size": 0},
        "prepared_statement_name_func": {"prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__"},
    }

    async def main(url, setting):
        engine = create_async_engine(url, poolclass=NullPool, connect_args=ARGS[setting])
        errors = []
        for i in range(15):
            try:
                async with engine.connect() as connection:
                    await connection.execute(text("select cast(:n as integer) + 1"), {"n": i})
            except Exception as error:
                errors.append(str(error))
            await asyncio.sleep(0.01)
        await engine.dispose()
        print(json.dumps(errors))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def _two_processes(url: str, setting: str):
    processes = [subprocess.Popen([sys.executable, "-c", _CLIENT, url, setting], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    out = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


@pytest.mark.parametrize("setting,clash", [
    ("none", True),
    ("prepared_statement_cache_size=0", True),
    ("statement_cache_size=0", False),
    ("both", False),
    ("prepared_statement_name_func", False),
])
def test_asyncpg_through_pgbouncer_transaction_mode(pgbouncer, setting, clash):
    pytest.importorskip("asyncpg", reason="asyncpg (test extras) is needed")
    errors = _two_processes(pgbouncer.url(), setting)
    clashes = [e for process in errors for e in process if "already exists" in e]
    if clash:
        assert clashes, f"{pgbouncer.version()}: expected the prepared-statement clash, got {errors}"
        assert any("__asyncpg_stmt_" in e for e in clashes)
    else:
        assert errors == [[], []], errors
