"""Where the code runs: evidence, verdicts, the override, and the same verdict when
pre-commit passes a single changed file."""
from __future__ import annotations

import json

import pytest

from conftest import SHARED, run_cli
from pool_lint.analysis.runtime import detect_runtime
from pool_lint.files import project_root

NULLPOOL = ("from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
            "engine = create_async_engine(URL, poolclass=NullPool)\n")
QUEUE = ("from sqlalchemy.ext.asyncio import create_async_engine\n"
         "engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=600, pool_size=1, max_overflow=0, "
         "pool_timeout=5)\n")


def verdict(project):
    from pool_lint.analysis import runtime

    runtime._detect.cache_clear()  # one process, many temporary projects
    return detect_runtime(project.root)


@pytest.mark.parametrize("files,kind,evidence", [
    ({"serverless.yml": "service: x\n"}, "serverless", "serverless: serverless.yml"),
    ({"template.yaml": "Transform: AWS::Serverless-2016-10-31\n"}, "serverless", "template.yaml (SAM)"),
    ({"template.yaml": "Resources: {}\n"}, "unknown", None),
    ({"zappa_settings.json": "{}"}, "serverless", "zappa_settings.json"),
    ({"app.py": "from mangum import Mangum\n"}, "serverless", "imports mangum (app.py)"),
    ({"fn.py": "def handler(event, context):\n    return 1\n"}, "serverless", "handler(event, context) in fn.py"),
    ({"fn.py": "def handler(request):\n    return 1\n"}, "unknown", None),
    ({"fn.py": "def outer():\n    def handler(event, context):\n        return 1\n"}, "unknown", None),
    ({"Procfile": "web: uvicorn app.main:app\n"}, "server", "server: Procfile runs uvicorn"),
    ({"gunicorn.conf.py": "workers = 4\n"}, "server", "server: gunicorn.conf.py"),
    ({"Dockerfile": 'FROM python\nCMD ["gunicorn", "app:app"]\n'}, "server", "server: Dockerfile runs gunicorn"),
    ({"docker-compose.yml": "services:\n  web:\n    command: hypercorn app:app\n"}, "server", "hypercorn"),
    ({"run.py": "import uvicorn\nuvicorn.run('app:app')\n"}, "server", "server: uvicorn started in run.py"),
    ({"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "server", "server: FastAPI app in main.py"),
    ({"app.py": "from fastapi import FastAPI\nfrom mangum import Mangum\napp = FastAPI()\nh = Mangum(app)\n"},
     "serverless", "imports mangum"),
    ({"serverless.yml": "service: x\n", "Procfile": "web: gunicorn app:app\n"}, "unknown", None),
    ({}, "unknown", None),
])
def test_evidence_and_verdicts(project, files, kind, evidence):
    for name, text in files.items():
        project.write(name, text)
    found = verdict(project)
    assert found.kind == kind, found.describe()
    if evidence:
        assert evidence in found.describe()


def test_excluded_folders_are_not_evidence(project):
    project.write(".venv/lib/site.py", "import mangum\n")
    project.write("node_modules/x/y.py", "import mangum\n")
    assert verdict(project).kind == "unknown"


def test_configuration_overrides(project):
    project.write("serverless.yml", "service: x\n")
    found = detect_runtime(project.root, "server")
    assert found.kind == "server" and found.configured
    assert found.short() == 'runtime = "server" in configuration'


def test_rules_use_the_verdict_and_name_the_evidence(project, cli):
    project.write("gunicorn.conf.py", "workers = 4\n")
    project.write("app/db.py", NULLPOOL)
    out = json.loads(cli("check", "--output-format", "json", ".", cwd=project.root).stdout)
    assert [f["code"] for f in out] == ["POL108"]
    assert "(server: gunicorn.conf.py)" in out[0]["message"]
    project.write("pyproject.toml", '[tool.pool-lint]\nruntime = "serverless"\n')
    project.write("app/db.py", QUEUE)
    out = json.loads(cli("check", "--output-format", "json", ".", cwd=project.root).stdout)
    assert [f["code"] for f in out] == ["POL109"]


def test_one_changed_file_gets_the_whole_project_verdict(project, cli):
    """The pre-commit case: only app/db.py is passed; the Procfile and the app object
    elsewhere still decide."""
    project.write("Procfile", "web: gunicorn app.main:app\n")
    project.write("app/__init__.py", "")
    project.write("app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    db = project.write("app/db.py", NULLPOOL)
    whole = json.loads(cli("check", "--output-format", "json", ".", cwd=project.root).stdout)
    single = json.loads(cli("check", "--output-format", "json", "app/db.py", cwd=project.root).stdout)
    assert [(f["code"], f["message"]) for f in single] == [(f["code"], f["message"]) for f in whole]
    assert [f["code"] for f in single] == ["POL108"]
    assert project_root(db) == project.root.resolve()


def test_show_runtime(project, cli):
    project.write("Procfile", "web: uvicorn app:app\n")
    project.write("app.py", "x = 1\n")
    result = cli("check", "--show-runtime", ".", cwd=project.root)
    assert "server (server: Procfile runs uvicorn)" in result.stderr


@pytest.mark.skipif(not (SHARED / "cases").is_dir(), reason="../shared/cases is not beside the repository")
@pytest.mark.parametrize("case,kind", [("shop_api", "server"), ("worker_nullpool", "server"),
                                       ("lambda_handler", "serverless"), ("mangum_api", "serverless"),
                                       ("sync_flask", "server"), ("literal_sqlite", "unknown")])
def test_shared_cases(case, kind):
    assert detect_runtime(SHARED / "cases" / case).kind == kind
