"""The connection budget: the deployment as its files declare it, the configuration keys,
POL112's arithmetic across files and process types, `pool-lint pools`, and the speed
contract (the deployment files read once per run, only where a server runtime and an
engine exist; YAML read with safe_load only)."""
from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from pool_lint import lint_source
from pool_lint.analysis import deployment as deployment_module
from pool_lint.analysis.deployment import read_deployment, server_command
from pool_lint.config import ConfigError, settings_from_table

REPO = Path(__file__).resolve().parents[1]
CASE = REPO.parent / "shared" / "cases" / "capacity_budget"
needs_case = pytest.mark.skipif(not CASE.is_dir(), reason="../shared/cases is not beside the repository")


@pytest.fixture(autouse=True)
def _fresh():
    deployment_module.clear_cache()
    yield
    deployment_module.clear_cache()


def _processes(root):
    return {p.name: p for p in read_deployment(root).processes}


# -- commands --------------------------------------------------------------------------------
@pytest.mark.parametrize("command,server,rest", [
    ("gunicorn -w 4 app:app", "gunicorn", ("-w", "4", "app:app")),
    ("python -m uvicorn app.main:app --workers 2", "uvicorn", ("app.main:app", "--workers", "2")),
    ("sh -c 'alembic upgrade head && exec gunicorn app:app'", "gunicorn", ("app:app",)),
    ("poetry run celery -A proj worker -c 3", "celery", ("-A", "proj", "worker", "-c", "3")),
    ("ENV=1 hypercorn app:app", "hypercorn", ("app:app",)),
])
def test_server_commands(command, server, rest):
    import shlex

    assert server_command(shlex.split(command)) == (server, rest)


@pytest.mark.parametrize("command", ["alembic upgrade head", "nginx -g daemon off;", "python manage.py migrate"])
def test_other_commands_are_no_process_type(command):
    import shlex

    assert server_command(shlex.split(command)) is None


# -- the deployment files --------------------------------------------------------------------
@needs_case
def test_the_capacity_case_deployment():
    processes = _processes(CASE)
    assert {n: (p.server, p.entry, p.per_replica, p.replicas) for n, p in processes.items()} == {
        "api": ("gunicorn", "shop.api", 4, 3),
        "worker": ("celery", "shop.tasks", 8, 3),
        "reports": ("uvicorn", "reports.app", 2, 2),
        "admin": ("gunicorn", "admin.app", None, 2),  # workers computed from the CPU count
    }
    limits = {db.hosts[0]: db.limit for db in read_deployment(CASE).databases}
    assert limits == {"orders-db": 150, "warehouse-db": 100, "admin-db": 100, "reports-db": 300}


def test_procfile_counts(project):
    project.write("Procfile", textwrap.dedent("""\
        web: gunicorn app:app
        api: uvicorn app:app --workers 3
        hyper: hypercorn app:app
        worker: celery -A app worker --pool gevent
        auto: celery -A app worker --autoscale 10,3
        cpu: celery -A app worker
        release: alembic upgrade head
        """))
    got = {n: p.per_replica for n, p in _processes(project.root).items()}
    # No count in a Procfile: the platform sets WEB_CONCURRENCY (unknown); hypercorn ignores it.
    assert got == {"web": None, "api": 3, "hyper": 1, "worker": 1, "auto": 10, "cpu": None}


def test_gunicorn_precedence(project):
    project.write("gunicorn.conf.py", "workers = 2 * 3\n")
    project.write("docker-compose.yml", textwrap.dedent("""\
        services:
          cli:
            command: gunicorn -w 2 app:app
            environment: {WEB_CONCURRENCY: "9", GUNICORN_CMD_ARGS: "--workers 7"}
          cmdargs:
            command: gunicorn app:app
            environment: {WEB_CONCURRENCY: "9", GUNICORN_CMD_ARGS: "--workers 7"}
          config:
            command: gunicorn app:app
            environment: [WEB_CONCURRENCY=9]
          templated:
            command: gunicorn -c other.py app:app
            environment: {WEB_CONCURRENCY: "${CONCURRENCY:-4}"}
            deploy: {replicas: "${REPLICAS}"}
        """))
    got = {n: (p.per_replica, p.replicas) for n, p in _processes(project.root).items()}
    # Order: WEB_CONCURRENCY < config file < GUNICORN_CMD_ARGS < command line (DOMAIN.md 1).
    assert got == {"cli": (2, 1), "cmdargs": (7, 1), "config": (6, 1), "templated": (None, None)}


def test_compose_build_dockerfile_and_environment(project):
    project.write("Dockerfile", 'FROM python:3.12\nENV WEB_CONCURRENCY=3\nCMD ["uvicorn", "app.main:app"]\n')
    project.write("compose.yaml", textwrap.dedent("""\
        services:
          web:
            build: .
            scale: 2
          db:
            image: docker.io/library/mysql:8
            command: --max-connections=500
        """))
    web = _processes(project.root)["web"]
    assert (web.server, web.entry, web.per_replica, web.replicas) == ("uvicorn", "app.main", 3, 2)
    assert [(db.kind, db.limit) for db in read_deployment(project.root).databases] == [("mysql", 500)]


def test_dockerfile_alone_only_without_orchestration(project):
    project.write("Dockerfile", 'FROM python:3.12\nCMD gunicorn --workers 5 app:app\n')
    assert _processes(project.root)["Dockerfile"].per_replica == 5
    deployment_module.clear_cache()
    project.write("docker-compose.yml", "services:\n  redis:\n    image: redis:7\n")
    assert _processes(project.root) == {}


def test_kubernetes_hpa_and_env(project):
    project.write("deploy/k8s.yaml", textwrap.dedent("""\
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
                  command: [gunicorn]
                  args: ["--workers", "3", "shop.api:app"]
                  env:
                    - {name: DATABASE_URL, value: "postgresql://app@pg:5432/app"}
                    - name: SECRET
                      valueFrom: {secretKeyRef: {name: s, key: k}}
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec:
          scaleTargetRef: {kind: Deployment, name: web}
          maxReplicas: 6
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: pg}
        spec:
          template:
            spec:
              containers:
                - {name: pg, image: "postgres:16", args: ["-c", "max_connections=250"]}
        """))
    web = _processes(project.root)["web"]
    assert (web.per_replica, web.replicas, web.entry) == (3, 6, "shop.api")
    assert web.environment() == {"DATABASE_URL": "postgresql://app@pg:5432/app", "SECRET": None}
    assert [(db.hosts, db.limit) for db in read_deployment(project.root).databases] == [(("pg",), 250)]


def test_a_helm_template_is_unknown_not_an_error(project):
    project.write("chart/templates/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n"
                  "spec:\n  replicas: {{ .Values.replicas }}\n")
    assert read_deployment(project.root).processes == ()


def test_yaml_is_read_with_safe_load_only(project):
    project.write("docker-compose.yml", "services:\n  web: !!python/object/apply:os.system ['echo pwned']\n")
    assert read_deployment(project.root).processes == ()
    source = (REPO / "pool_lint" / "analysis" / "deployment.py").read_text()
    assert "safe_load" in source and "yaml.load(" not in source and "yaml.unsafe" not in source


# -- configuration ---------------------------------------------------------------------------
def test_configuration_keys():
    s = settings_from_table({"max-connections": 100, "workers": {"web": 4}, "replicas": 3,
                             "external-pooler": "transaction"})
    assert (s.max_connections, s.workers, s.replicas, s.external_pooler) == (100, (("web", 4),), 3, "transaction")
    for bad in ({"max-connections": "100"}, {"workers": 0}, {"replicas": {"web": "3"}},
                {"external-pooler": "session"}):
        with pytest.raises(ConfigError):
            settings_from_table(bad)


# -- POL112 across files ---------------------------------------------------------------------
def _budget_project(project, compose: str, settings: str = ""):
    project.write("pyproject.toml", "[project]\nname = 'demo'\n" + settings)
    project.write("docker-compose.yml", textwrap.dedent(compose))
    project.write("app/__init__.py", "")
    project.write("app/main.py", "from fastapi import FastAPI\nfrom app import db\napp = FastAPI()\n")
    project.write("app/db.py", textwrap.dedent("""\
        import os
        from sqlalchemy import create_engine
        DATABASE_URL = os.environ["DATABASE_URL"]
        engine = create_engine(DATABASE_URL, pool_size=10, max_overflow=5)
        """))


_COMPOSE = """\
    services:
      web:
        command: gunicorn -w 4 app.main:app
        environment: {DATABASE_URL: "postgresql://u@db:5432/app"}
        deploy: {replicas: 3}
      db:
        image: postgres:16
    """


def test_pol112_message(project, cli):
    _budget_project(project, _COMPOSE)
    done = cli("check", "--no-cache", "--select", "POL112", ".", cwd=project.root)
    assert "app/db.py:4:10: POL112 worst case 180 connections to db (max_connections 100, docker-compose.yml): " \
           "web 4 processes x 3 replicas x (10 + 5) = 180 (this engine)" in done.stdout, done.stdout + done.stderr


def test_configuration_overrides_the_files(project, cli):
    _budget_project(project, _COMPOSE, "[tool.pool-lint]\nworkers = { web = 2 }\nreplicas = 1\n")
    done = cli("check", "--no-cache", "--select", "POL112", ".", cwd=project.root)
    assert "POL112" not in done.stdout  # 2 x 1 x 15 = 30
    _budget_project(project, _COMPOSE, "[tool.pool-lint]\nmax-connections = 20\nworkers = 2\nreplicas = 1\n")
    done = cli("check", "--no-cache", "--select", "POL112", ".", cwd=project.root)
    assert "worst case 30 connections to db (max-connections 20, configuration)" in done.stdout, done.stdout


@pytest.mark.parametrize("change", [
    ("command: gunicorn -w 4 app.main:app", "command: gunicorn app.main:app\n        env_file: .env"),  # 1 x 3
    ("image: postgres:16", "image: postgres:16\n        command: postgres -c max_connections=${MAX}"),
    ("gunicorn -w 4 app.main:app", "gunicorn -w 4 $APP_MODULE"),  # the entry is not static
    ("gunicorn -w 4 app.main:app", "gunicorn -w 4 elsewhere:app"),  # not in the project
])
def test_unknown_is_silent(project, cli, change):
    _budget_project(project, _COMPOSE.replace(*change))
    done = cli("check", "--no-cache", "--select", "POL112", ".", cwd=project.root)
    assert "POL112" not in done.stdout, done.stdout


def test_an_engine_no_process_loads_is_not_counted(project, cli):
    _budget_project(project, _COMPOSE)
    project.write("app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    done = cli("check", "--no-cache", "--select", "POL112", ".", cwd=project.root)
    assert "POL112" not in done.stdout


def test_the_api_reads_the_deployment_too(project):
    _budget_project(project, _COMPOSE)
    found = lint_source((project.root / "app/db.py").read_text(), path=project.root / "app/db.py",
                        select=["POL112"])
    assert [f.code for f in found] == ["POL112"]


def test_deployment_read_once_per_run_and_only_where_needed(project, monkeypatch):
    from pool_lint.config import Settings
    from pool_lint.files import discover
    from pool_lint.runner import RunOptions, run

    _budget_project(project, _COMPOSE)
    for i in range(60):  # enough files for the worker processes
        project.write(f"app/m{i}.py", f"from sqlalchemy.orm import Session\nX{i} = 1\n")
    reads = []
    original = deployment_module._read_deployment
    monkeypatch.setattr(deployment_module, "_read_deployment", lambda *a: reads.append(a[0]) or original(*a))
    settings = Settings()
    targets, _ = discover([str(project.root)], settings)
    cache_folder = project.root / ".cache-here"
    result = run(targets, settings, RunOptions(jobs=2), cache_folder)
    assert [f.code for f in result.findings if f.code == "POL112"] == ["POL112"]
    assert reads == [str(project.root.resolve())]  # once, in this process; the workers got it
    # Without a cache (no key to hold its fingerprint), this process reads none: the
    # worker whose file needs it does (forked, it reads it in its own memory), and the
    # finding is the same.
    reads.clear()
    deployment_module.clear_cache()
    result = run(targets, settings, RunOptions(jobs=2, use_cache=False))
    assert [f.code for f in result.findings if f.code == "POL112"] == ["POL112"]
    assert reads == []
    # Without any engine, nothing is read.
    deployment_module.clear_cache()
    (project.root / "app/db.py").write_text("X = 1\n")
    run(targets, settings, RunOptions(jobs=2), cache_folder)
    assert reads == []


def test_yaml_is_imported_only_with_a_yaml_deployment_file(project):
    import subprocess

    project.write("Procfile", "web: gunicorn -w 2 app.main:app\n")
    project.write("app/__init__.py", "")
    project.write("app/main.py", "import os\nfrom sqlalchemy import create_engine\n"
                  "engine = create_engine(os.environ['URL'])\n")
    code = ("import sys; from pool_lint.analysis.deployment import read_deployment; "
            f"d = read_deployment({str(project.root)!r}); print(len(d.processes), 'yaml' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["1", "False"], done.stderr


# -- pool-lint pools -------------------------------------------------------------------------
@needs_case
def test_pools_json_on_the_case(cli):
    done = cli("pools", "--output-format", "json", ".", cwd=CASE)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {row["name"]: row for row in data["engines"]}
    assert "engine" in rows and "catalog_engine" in rows
    assert all(":" not in (row["url"] or "").split("://")[-1].split("@")[0] or "@" not in (row["url"] or "")
               for row in rows.values())  # never credentials
    engine = rows["engine"]
    assert (engine["cap"], engine["server"], engine["limit"], engine["worst_case"]) == (15, "orders-db", 150, 180)
    assert engine["processes"] == [{"type": "api", "source": "docker-compose.yml", "server": "gunicorn",
                                    "per_replica": 4, "replicas": 3}]
    assert rows["admin_engine"]["worst_case"] is None  # the CPU-count worker number
    totals = {s["server"]: (s["worst_case"], s["limit"], s["over"]) for s in data["servers"]}
    assert totals["warehouse-db"] == (120, 100, True) and totals["reports-db"] == (60, 300, False)
    assert "backfill" not in done.stdout  # a one-shot engine is not inventoried


@needs_case
def test_pools_text_table(cli):
    done = cli("pools", ".", cwd=CASE)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("LOCATION") and "WORST CASE" in lines[0]
    assert len({line.index("SERVER") if "SERVER" in line else None for line in lines[:1]}) == 1
    assert any(line.startswith("total warehouse-db: worst case 120 connections") for line in lines)


def test_pools_configuration_error_exits_2(project, cli):
    project.write("pyproject.toml", "[tool.pool-lint]\nmax-connections = 'many'\n")
    done = cli("pools", ".", cwd=project.root)
    assert done.returncode == 2 and "max-connections" in done.stderr


def test_kubernetes_args_replace_the_image_cmd_not_its_entrypoint(project):
    project.write("Dockerfile", 'FROM python:3.12\nENTRYPOINT ["gunicorn"]\nCMD ["app:app"]\n')
    project.write("k8s/web.yml", textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - {name: web, image: "shop:1", args: ["-w", "5", "shop.api:app"]}
        """))
    web = _processes(project.root)["web"]
    assert (web.server, web.entry, web.per_replica, web.replicas) == ("gunicorn", "shop.api", 5, 1)


def test_budget_only_reads_nothing_more_without_a_declared_server(project):
    project.write("Procfile", "web: gunicorn -w 2 app:app\n")
    assert read_deployment(project.root, budget_only=True).processes == ()
    assert len(read_deployment(project.root).processes) == 1


def test_a_process_type_declared_by_two_files_is_unknown(project):
    project.write("docker-compose.yml", "services:\n  web:\n    command: gunicorn -w 2 app:app\n")
    project.write("docker-compose.prod.yml", "services:\n  web:\n    command: gunicorn -w 8 app:app\n"
                  "    deploy: {replicas: 4}\n")
    assert {p.per_replica for p in read_deployment(project.root).processes} == {None}


def test_celery_worker_concurrency_from_the_app(project):
    project.write("Procfile", "worker: celery -A proj worker\nbeat: celery -A proj beat\n"
                  "other: celery -A other worker\n")
    project.write("proj/__init__.py", "from .celery import app\n")
    project.write("proj/celery.py", "from celery import Celery\napp = Celery('proj')\n"
                  "app.config_from_object('proj.settings')\n")
    project.write("proj/settings.py", "worker_concurrency = 3\n")
    project.write("other.py", "import os\nfrom celery import Celery\n"
                  "app = Celery('o', worker_concurrency=int(os.environ['N']))\n")
    got = {n: p.per_replica for n, p in _processes(project.root).items()}
    assert got == {"worker": 3, "beat": None, "other": None}


def test_a_root_without_a_limit_file_is_listed_once_per_process(project, monkeypatch):
    """read_deployment(budget_only=True) of a root with no compose or Kubernetes file is
    EMPTY, and remembered as such: POL112 asks it for every engine of a run's worker,
    which must not walk the tree each time."""
    project.write("Procfile", "web: gunicorn -w 2 app.main:app\n")
    project.write("app/main.py", "X = 1\n")
    deployment_module.clear_cache()
    walks = []
    original = deployment_module.deployment_files
    monkeypatch.setattr(deployment_module, "deployment_files", lambda *a: walks.append(a[0]) or original(*a))
    for _ in range(3):
        assert deployment_module.read_deployment(project.root, budget_only=True) is deployment_module.EMPTY
    assert walks == [os.path.realpath(project.root)]
    # Read whole (a configured max-connections), the Procfile's process is there.
    assert [p.name for p in deployment_module.read_deployment(project.root).processes] == ["web"]
