"""POL112 connection-budget, POL113 asyncpg-behind-pooler (SPEC "Connection budget")."""
from __future__ import annotations

from ..analysis.engines import MISSING
from ..analysis.values import UNKNOWN, Partial
from .base import example, register
from .engine import EngineRule, applies

_ASYNC = "from sqlalchemy.ext.asyncio import create_async_engine\n"
_SYNC = "from sqlalchemy import create_engine\n"
_NULL = "from sqlalchemy.pool import NullPool\n"
_COMPOSE_180 = """\
services:
  web:
    build: .
    command: uvicorn app.db:app --workers 4
    environment:
      DATABASE_URL: postgresql+asyncpg://shop@db:5432/shop
    deploy:
      replicas: 3
  db:
    image: postgres:16
"""
_ENGINE_15 = _ASYNC + """\
import os
engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=15, max_overflow=0)
"""
_FILES = (("docker-compose.yml", _COMPOSE_180), ("pyproject.toml", "[project]\nname = 'shop'\n"),
          ("app/__init__.py", ""))

CONNECTION_BUDGET = "worst case {worst_case} connections to {server} ({limit_name} {limit}, {limit_from}): {terms}"
ASYNCPG_BEHIND_POOLER = ("asyncpg behind a transaction-mode pooler ({why}) without `statement_cache_size=0` in "
                         "`connect_args`: with two worker processes both fail with "
                         "`prepared statement \"__asyncpg_stmt_1__\" already exists`")


@register
class ConnectionBudget(EngineRule):
    """## What it does
    Adds up the worst case of every long-lived pool that can reach one database server,
    `(pool_size + max_overflow)` per process x worker processes x replicas, over every
    process type that loads the engine, and checks it for each engine in the sum against
    the server's connection limit.

    The numbers come from the repository: process types from Procfiles, compose services
    (`command`/`entrypoint`, else the build's Dockerfile `CMD`), Kubernetes Deployments and
    StatefulSets, and a Dockerfile `CMD` where nothing else declares the processes;
    processes per replica from gunicorn's `-w`, `GUNICORN_CMD_ARGS`, `workers = N` in its
    config file, `WEB_CONCURRENCY`; uvicorn's `--workers`; hypercorn's `-w`; celery's
    `--concurrency`, `--autoscale`, `--pool`; replicas from compose `deploy.replicas` /
    `scale`, Kubernetes `spec.replicas` or an HPA's `maxReplicas`. An engine counts for a
    process type when the type's entry module (`module:app`, celery `-A`) imports the
    engine's module, transitively. The server is the URL's host, static or from the
    environment variable the process sets. The limit is `max-connections`, else the
    database service the repository declares (`postgres -c max_connections=N`, else
    PostgreSQL's 100; MySQL's `--max-connections`, else 151).

    Anything that cannot be known statically (a worker count computed at start-up,
    celery's CPU-count default, a Procfile command without a count, a templated value, an
    unresolvable entry module, a pool setting that is not a literal) makes the sum unknown,
    and the rule says nothing.

    ## Why is this bad?
    Every worker process has its own pool (a pool must never cross `fork()`), so the
    connections a deployment can open multiply: four uvicorn workers per pod times three
    pods at `pool_size=15, max_overflow=0` is

        4 processes x 3 replicas x (15 + 0) = 180 connections

    against PostgreSQL's default `max_connections` of 100, or the 60-100 of a small
    managed tier. Nothing fails in development or under light load; at the first traffic
    peak (or a rolling deploy, when old and new pods overlap) the database refuses new
    connections with `FATAL: sorry, too many clients already` or `remaining connection
    slots are reserved for non-replication superuser connections` (PostgreSQL keeps 3
    slots, `superuser_reserved_connections`, for superusers; the comparison uses the
    declared number, precision first). `tests/test_real_server.py` shows it on a real
    server: two processes whose caps add up past the limit, the second one refused.

    ## Example
    ```yaml
    # docker-compose.yml
    services:
      web:
        command: uvicorn app.main:app --workers 4
        environment: {DATABASE_URL: "postgresql+asyncpg://shop@db:5432/shop"}
        deploy: {replicas: 3}
      db:
        image: postgres:16          # max_connections 100
    ```
    ```python
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=15, max_overflow=0)
    # worst case 180 connections to db (max_connections 100, docker-compose.yml):
    # web 4 processes x 3 replicas x (15 + 0) = 180 (this engine)
    ```

    ## Use instead
    Size the pools for the fleet, `pool_size = limit / (processes x replicas)` with some
    headroom (here `pool_size=8`: 4 x 3 x 8 = 96), raise the server's `max_connections`,
    or put PgBouncer in front and let it hold the server connections.
    ```python
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=8, max_overflow=0)
    ```
    `pool-lint pools` prints every long-lived engine with its processes, replicas and worst
    case, and one total per database server.

    ## Fix
    None: the budget is a deployment decision.

    ## Options
    - `max-connections`: the database's limit (default: read from the deployment files).
    - `workers`, `replicas`: processes per replica and replicas, a number or a table by
      process type (Procfile name, compose service, Kubernetes workload); they override the
      files.
    - `runtime`: the rule applies where the runtime is a long-running server.

    ## References
    - SQLAlchemy documentation, "Using Connection Pools with Multiprocessing or os.fork()".
    - PostgreSQL documentation, `max_connections`, `superuser_reserved_connections`.
    - gunicorn settings (`workers`, `WEB_CONCURRENCY`), uvicorn `--workers`, celery
      `--concurrency`; Compose `deploy.replicas`; Kubernetes `HorizontalPodAutoscaler`.
    """

    code = "POL112"
    name = "connection-budget"
    severity = "error"
    fix = "none"
    valid = (
        # 4 x 3 x 8 = 96 fits 100.
        example(_ENGINE_15.replace("pool_size=15", "pool_size=8"), files=_FILES),
        # The worker count is computed at start-up: unknown, silent.
        example(_ENGINE_15, files=(("docker-compose.yml", _COMPOSE_180.replace(" --workers 4", "")
                                    .replace("uvicorn", "gunicorn -c gunicorn.conf.py")),
                                   ("gunicorn.conf.py", "import os\nworkers = os.cpu_count() * 2\n")) + _FILES[1:]),
        # The limit raised in the compose file: 180 fits 200.
        example(_ENGINE_15, files=(("docker-compose.yml", _COMPOSE_180.replace(
            "image: postgres:16", "image: postgres:16\n    command: postgres -c max_connections=200")),) + _FILES[1:]),
        # NullPool: no pool to budget.
        example(_ENGINE_15.replace("pool_size=15, max_overflow=0", "poolclass=NullPool").replace(
            "import os", "import os\n" + _NULL.strip()), files=_FILES),
    )
    invalid = (
        example(_ENGINE_15, files=_FILES, expect=[(3, 10, "worst case 180 connections to db (max_connections 100, "
                                                          "docker-compose.yml): web 4 processes x 3 replicas x (15 + 0) "
                                                          "= 180 (this engine)")]),
        # The implicit 5 + 10, and the limit from the configuration.
        example(_ASYNC + "import os\nengine = create_async_engine(os.environ['DATABASE_URL'])",
                files=_FILES, max_connections=150,
                expect=[(3, 10, "worst case 180 connections to db (max-connections 150, configuration): "
                                "web 4 processes x 3 replicas x (5 + 10) = 180 (this engine)")]),
        # Kubernetes: the HPA's maxReplicas, not spec.replicas.
        example(_SYNC + "import os\nengine = create_engine(os.getenv('DATABASE_URL'), pool_size=10, max_overflow=0)",
                max_connections=100, runtime="server",
                expect=[(3, 10, "worst case 120 connections to env:DATABASE_URL (max-connections 100, configuration): "
                                "web 3 processes x 4 replicas x (10 + 0) = 120 (this engine)")],
                files=(("k8s/web.yaml", """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: shop:1
          command: ["gunicorn", "--workers", "3", "app.db:app"]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
"""),) + _FILES[1:]),
    )

    def check(self, file):
        calls = [c for c in file.engines if applies(file, c, self.code)]
        if not calls:
            return
        from ..analysis.budget import limit_known, project_budget, pool_of
        from ..analysis.deployment import read_deployment

        if not file.plans_capacity:  # as POL105-POL107: a server's or worker's own pools
            return
        runtime = file.runtime
        deployment = getattr(runtime, "deployment", None)
        if deployment is None:  # (read here where the run's verdict came without it: no cache)
            deployment = read_deployment(file.project.root, budget_only=file.settings.max_connections is None)
        if not deployment.processes or not limit_known(deployment, file.settings):
            return
        file.project.runtime_seen = runtime.key()
        budget = None
        for call in calls:
            pool = pool_of(file, call)
            if not pool.counted or call.url.in_process:
                continue
            if budget is None:
                budget = project_budget(file.project, deployment, file.settings)
                if budget.unknown:
                    return
            for server in budget.servers_of(pool.key):
                if server.over:
                    yield self.report(call, _message(server, pool.key))


def _message(server, key) -> str:
    mine = [t for t in server.terms if t.pool.key == key]
    others = sorted((t for t in server.terms if t.pool.key != key),
                    key=lambda t: (t.process.name, t.pool.key))
    parts = [t.describe(first=i == 0) + " (this engine)" for i, t in enumerate(mine)]
    parts += [t.describe(first=False) for t in others]
    return CONNECTION_BUDGET.format(worst_case=server.worst_case, server=server.key, limit_name=server.limit_name,
                                    limit=server.limit, limit_from=server.limit_from, terms=" + ".join(parts))


@register
class AsyncpgBehindPooler(EngineRule):
    """## What it does
    Checks for `asyncpg` engines that reach the database through a transaction-mode
    pooler (a URL whose host names `pgbouncer` or whose port is 6432, or any asyncpg engine
    when `external-pooler = "transaction"`) without `statement_cache_size=0` or a
    `prepared_statement_name_func` in `connect_args` (or the URL's query).

    ## Why is this bad?
    asyncpg prepares every statement under a name it counts per process,
    `__asyncpg_stmt_1__`, `__asyncpg_stmt_2__`... In transaction mode PgBouncer hands each
    transaction whichever server connection is free, and the server connection keeps the
    statements other clients prepared on it. With two worker processes, both fail with
    `prepared statement "__asyncpg_stmt_1__" already exists`: it passes every test run
    with one process and breaks in production. SQLAlchemy's own
    `prepared_statement_cache_size=0` alone does not help (asyncpg still names its
    statements); asyncpg's `statement_cache_size=0` does (unnamed statements), and so do
    unique names (`prepared_statement_name_func`). `tests/test_real_server.py` shows all
    three against a real PgBouncer 1.18 in transaction mode.

    PgBouncer 1.21 and later can track prepared statements (`max_prepared_statements`,
    on by default from 1.24): a project on such a PgBouncer can ignore this rule.

    ## Example
    ```python
    engine = create_async_engine("postgresql+asyncpg://app@pgbouncer:6432/app", poolclass=NullPool)
    ```

    ## Use instead
    ```python
    engine = create_async_engine(
        "postgresql+asyncpg://app@pgbouncer:6432/app",
        poolclass=NullPool,
        connect_args={"statement_cache_size": 0, "prepared_statement_cache_size": 0},
    )
    ```

    ## Fix
    None.

    ## Options
    - `external-pooler`: `"transaction"` says every database URL goes through a
      transaction-mode pooler (`true` alone, a Cloud SQL or RDS proxy, does not arm this rule).

    ## References
    - SQLAlchemy documentation, asyncpg dialect: "Prepared Statement Cache" and "Prepared
      Statement Name with PGBouncer".
    - asyncpg FAQ, "Why am I getting prepared statement errors?".
    - PgBouncer 1.21.0 release notes (`max_prepared_statements`).
    """

    code = "POL113"
    name = "asyncpg-behind-pooler"
    severity = "warning"
    fix = "none"
    _URL = "'postgresql+asyncpg://app@pgbouncer:6432/app'"
    valid = (
        example(_ASYNC + f"engine = create_async_engine({_URL}, connect_args={{'statement_cache_size': 0}})"),
        example(_ASYNC + "from uuid import uuid4\n"
                f"engine = create_async_engine({_URL}, connect_args={{'prepared_statement_name_func': "
                "lambda: f'__asyncpg_{uuid4()}__'})"),
        example(_ASYNC + f"engine = create_async_engine({_URL}, connect_args=ARGS)"),
        example(_ASYNC + "engine = create_async_engine('postgresql+asyncpg://app@db:5432/app')"),
        example(_ASYNC + "engine = create_async_engine('postgresql+asyncpg://app@db/app')", external_pooler=True),
        example(_ASYNC + "engine = create_async_engine('postgresql+psycopg://app@pgbouncer:6432/app')"),
        example(_ASYNC + "engine = create_async_engine("
                "'postgresql+asyncpg://app@pgbouncer:6432/app?statement_cache_size=0')"),
    )
    invalid = (
        example(_ASYNC + _NULL + f"engine = create_async_engine({_URL}, poolclass=NullPool)",
                expect=[(3, 10, "asyncpg behind a transaction-mode pooler (a PgBouncer URL) without "
                                "`statement_cache_size=0` in `connect_args`:")]),
        example(_ASYNC + f"engine = create_async_engine({_URL}, connect_args={{'prepared_statement_cache_size': 0}})",
                expect=[(2, 10, "asyncpg behind a transaction-mode pooler (a PgBouncer URL) without "
                                "`statement_cache_size=0` in `connect_args`:")]),
        example(_ASYNC + "engine = create_async_engine('postgresql+asyncpg://app@db/app')",
                external_pooler="transaction",
                expect=[(2, 10, 'asyncpg behind a transaction-mode pooler (`external-pooler = "transaction"`) without '
                                "`statement_cache_size=0` in `connect_args`:")]),
    )

    def check_call(self, file, call):
        url = call.url
        scheme = url.scheme
        if scheme is None or scheme.split("+")[0] not in ("postgresql", "postgres") or \
                "+asyncpg" not in scheme or call.open_keywords:
            return
        settings = file.settings
        if url.is_pooler and "proxy" not in _host(url):
            why = "a PgBouncer URL"
        elif settings.external_pooler == "transaction":
            why = '`external-pooler = "transaction"`'
        else:
            return
        from ..analysis.budget import url_query

        query = url_query(url.full)
        if query.get("statement_cache_size") == ["0"] or "prepared_statement_name_func" in query:
            return
        if url.full is None and url.head is not None and "?" in url.head:
            return  # a query we cannot read whole
        args = call.keywords.get("connect_args")
        if args is not None:
            mapping = call.evaluator.mapping(args.expr, call.node) if args.expr is not None else None
            if mapping is None:
                return  # unresolvable: silent
            if "prepared_statement_name_func" in mapping:
                return
            if "statement_cache_size" in mapping:
                value = call.evaluator.value(mapping["statement_cache_size"], call.node) \
                    if mapping["statement_cache_size"] is not None else UNKNOWN
                if value is UNKNOWN or isinstance(value, Partial) or value == 0:
                    return
        elif call.value("connect_args") is not MISSING:
            return
        yield self.report(
            call,
            ASYNCPG_BEHIND_POOLER.format(why=why),
        )


def _host(url) -> str:
    from ..analysis.budget import parse_url

    return parse_url(url.full or url.head or "")[0] or ""
