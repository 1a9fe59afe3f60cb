"""Where the code runs (SPEC 4, "Runtime"): evidence, verdicts, the override, and the same
verdict when pre-commit passes a single changed file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_cli, write_tree
from pool_lint.analysis import runtime
from pool_lint.analysis.runtime import Evidence, RuntimeVerdict, detect_runtime, project_root

CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"

NULLPOOL = ("from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
            "engine = create_async_engine(URL, poolclass=NullPool)\n")
QUEUE = ("from sqlalchemy.ext.asyncio import create_async_engine\n"
         "engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=600, pool_size=1, max_overflow=0, "
         "pool_timeout=5)\n")


@pytest.fixture(autouse=True)
def fresh_cache():
    runtime.clear_cache()  # one process, many temporary projects
    yield
    runtime.clear_cache()


def make(root: Path, files: dict, marker: bool = True) -> Path:
    """Write a small project under `root` (with a pyproject.toml unless told otherwise)."""
    return write_tree(root, files) if marker else write_tree(root, files, None)


def detect(tmp_path, files, setting="auto"):
    return detect_runtime(make(tmp_path, files), setting)


# -- one kind of evidence ---------------------------------------------------------------------
@pytest.mark.parametrize("files,what", [
    ({"serverless.yml": "service: x\n"}, "serverless.yml"),
    ({"serverless.yaml": "service: x\n"}, "serverless.yaml"),
    ({"zappa_settings.json": "{}"}, "zappa_settings.json"),
    ({"zappa_settings.toml": "[dev]\n"}, "zappa_settings.toml"),
    ({"template.yaml": "Transform: AWS::Serverless-2016-10-31\n"}, "template.yaml (SAM)"),
    ({"template.yml": "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"}, "template.yml (SAM)"),
    ({"app.py": "from mangum import Mangum\n"}, "imports mangum (app.py)"),
    ({"app.py": "import chalice\n"}, "imports chalice (app.py)"),
    ({"main.py": "import functions_framework\n"}, "imports functions_framework (main.py)"),
    ({"fn/__init__.py": "import azure.functions as func\n"}, "imports azure.functions (fn/__init__.py)"),
    ({"fn.py": "from azure import functions as func\n"}, "imports azure.functions (fn.py)"),
    ({"fn.py": "from aws_lambda_powertools import Logger\n"}, "imports aws_lambda_powertools (fn.py)"),
    ({"fn.py": "def run():\n    import mangum\n"}, "imports mangum (fn.py)"),
    ({"handler.py": "def handler(event, context):\n    return 1\n"}, "handler(event, context) in handler.py"),
    ({"src/fn.py": "async def handler(event, context):\n    return 1\n"}, "handler(event, context) in src/fn.py"),
    ({"fn.py": "def lambda_handler(evt, ctx):\n    return 1\n"}, "lambda_handler(event, context) in fn.py"),
])
def test_serverless_evidence_only(tmp_path, files, what):
    found = detect(tmp_path, files)
    assert found.kind == "serverless", found.describe()
    assert found.evidence == (Evidence("serverless", what),)
    assert found.describe() == f"serverless ({what})"
    assert found.short() == f"serverless: {what}"
    assert not found.configured


@pytest.mark.parametrize("files,what", [
    ({"Procfile": "web: uvicorn app.main:app --port $PORT\n"}, "Procfile runs uvicorn"),
    ({"Procfile": "# deploy\nrelease: alembic upgrade head\nweb: python -m gunicorn -k uvicorn.workers.UvicornWorker app:app\n"},
     "Procfile runs gunicorn"),
    ({"gunicorn.conf.py": "workers = 4\n"}, "gunicorn.conf.py"),
    ({"gunicorn_conf.py": "bind = '0.0.0.0:80'\n"}, "gunicorn_conf.py"),
    ({"deploy/gunicorn.conf.py": "workers = 4\n"}, "deploy/gunicorn.conf.py"),
    ({"Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "app:app"]\n'}, "Dockerfile runs gunicorn"),
    ({"Dockerfile": "FROM python:3.12\nENTRYPOINT exec hypercorn app:app\n"}, "Dockerfile runs hypercorn"),
    ({"Dockerfile": 'FROM python:3.12\nCMD ["python", "-m", \\\n     "uvicorn", "app:app"]\n'}, "Dockerfile runs uvicorn"),
    ({"Dockerfile.prod": 'CMD ["granian", "--interface", "asgi", "app:app"]\n'}, "Dockerfile.prod runs granian"),
    ({"api.Dockerfile": "CMD daphne proj.asgi:application\n"}, "api.Dockerfile runs daphne"),
    ({"docker/Dockerfile": 'CMD ["uvicorn", "app:app"]\n'}, "docker/Dockerfile runs uvicorn"),
    ({"docker-compose.yml": "services:\n  web:\n    command: hypercorn app:app\n"},
     "docker-compose.yml command runs hypercorn"),
    ({"compose.yaml": "services:\n  web:\n    image: x\n    command:\n      - uvicorn\n      - app:app\n"},
     "compose.yaml command runs uvicorn"),
    ({"compose.yml": "services:\n  web:\n    command: >\n      gunicorn app:app\n    ports: ['80:80']\n"},
     "compose.yml command runs gunicorn"),
    ({"deploy/docker-compose.yaml": "services:\n  web:\n    command: [\"uvicorn\", \"app:app\"]\n"},
     "deploy/docker-compose.yaml command runs uvicorn"),
    ({"run.py": "import uvicorn\n\nif __name__ == '__main__':\n    uvicorn.run('app:app')\n"},
     "uvicorn started in run.py"),
    ({"run.py": "from uvicorn import run as serve\n\ndef main():\n    serve('app:app')\n"}, "uvicorn started in run.py"),
    ({"run.py": "import asyncio\nfrom hypercorn.asyncio import serve\nasyncio.run(serve(app, config))\n"},
     "hypercorn started in run.py"),
    ({"run.py": "import hypercorn.asyncio\nhypercorn.asyncio.serve(app, config)\n"}, "hypercorn started in run.py"),
    ({"run.py": "from granian import Granian\nGranian('app:app', interface='asgi').serve()\n"},
     "granian started in run.py"),
    ({"serve.py": "from gunicorn.app.base import BaseApplication\n\nclass App(BaseApplication):\n    pass\n"},
     "gunicorn started in serve.py"),
])
def test_strong_server_evidence_only(tmp_path, files, what):
    found = detect(tmp_path, files)
    assert found.kind == "server", found.describe()
    assert found.evidence == (Evidence("server", what),)
    assert found.describe() == f"server ({what})"
    assert found.short() == f"server: {what}"


@pytest.mark.parametrize("files,what", [
    ({"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "FastAPI app in main.py"),
    ({"app/main.py": "import fastapi as fa\napp: fa.FastAPI = fa.FastAPI(title='x')\n"}, "FastAPI app in app/main.py"),
    ({"app.py": "from starlette.applications import Starlette\napp = Starlette()\n"}, "Starlette app in app.py"),
    ({"app.py": "from flask import Flask\napp = Flask(__name__)\n"}, "Flask app in app.py"),
    ({"app.py": "from litestar import Litestar\napp = Litestar([])\n"}, "Litestar app in app.py"),
    ({"app.py": "from sanic import Sanic\napp = Sanic('x')\n"}, "Sanic app in app.py"),
    ({"app.py": "from quart import Quart\napp = Quart(__name__)\n"}, "Quart app in app.py"),
    ({"app.py": "from aiohttp import web\napp = web.Application()\n"}, "aiohttp.web app in app.py"),
    ({"proj/wsgi.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n"},
     "Django app in proj/wsgi.py"),
    ({"manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"},
     "Django project (manage.py)"),
])
def test_weak_server_evidence_only(tmp_path, files, what):
    found = detect(tmp_path, files)
    assert found.kind == "server", found.describe()
    assert found.evidence == (Evidence("weak-server", what),)
    assert found.describe() == f"server ({what})"
    assert found.short() == f"server: {what}"


# -- not evidence -------------------------------------------------------------------------------
@pytest.mark.parametrize("files", [
    {},
    {"app.py": "x = 1\n"},
    {"template.yaml": "Resources: {}\n"},  # a template that is not a SAM template
    {"fn.py": "def handler(request):\n    return 1\n"},  # one parameter
    {"fn.py": "def handler(event, context, extra):\n    return 1\n"},
    {"fn.py": "def handler(req, res):\n    return 1\n"},  # `handler` needs event, context
    {"fn.py": "def lambda_handler(event):\n    return 1\n"},
    {"fn.py": "def outer():\n    def handler(event, context):\n        return 1\n    return handler\n"},  # nested
    {"fn.py": "class Api:\n    def handler(self, event, context):\n        return 1\n"},  # a method
    {"fn.py": "if True:\n    def lambda_handler(event, context):\n        return 1\n"},  # not module level
    {"notes.py": "# we might use mangum some day\nmangum = 'no import'\n"},
    {"Procfile": "# uvicorn used to run here\nworker: celery -A tasks worker\n"},
    {"Dockerfile": "FROM python:3.12\nRUN pip install uvicorn gunicorn\nCMD [\"python\", \"job.py\"]\n"},
    {"docker-compose.yml": "services:\n  web:\n    image: uvicorn-app\n    command: python job.py\n"},
    {"deep/er/Dockerfile": 'CMD ["gunicorn", "app:app"]\n'},  # two levels down
    {"app/serverless.yml": "service: x\n"},  # not at the root
    {"app.py": "def run(app):\n    pass\n\nrun('app:app')\n"},  # a local run() is not uvicorn.run
    {"app.py": "class FastAPI:\n    pass\n\napp = FastAPI()\n"},  # not fastapi's FastAPI
    {"app.py": "from flask import Flask\n\ndef create_app():\n    app = Flask(__name__)\n    return app\n"},
    {"app.py": "import uvicorn\n"},  # imported, never started
    {"broken.py": "import mangum\ndef handler(event, context):\n    return (\n"},  # does not parse
    {"latin.py": b"import mangum\ns = '\xe9t\xe9'\n"},  # does not decode
])
def test_not_evidence(tmp_path, files):
    found = detect(tmp_path, files)
    assert found == RuntimeVerdict("unknown", ())
    assert found.describe() == "unknown (no evidence)"


def test_odd_files_are_skipped_silently(tmp_path, capsys):
    found = detect(tmp_path, {"a.py": "import mangum\nx = '\\d'\n", "b.py": b"\x00\x01 uvicorn"})
    assert found.kind == "serverless"
    assert capsys.readouterr() == ("", "")


# -- both kinds, and the verdict rules --------------------------------------------------------
def test_serverless_adapter_wraps_a_weak_app(tmp_path):
    found = detect(tmp_path, {"app.py": "from fastapi import FastAPI\nfrom mangum import Mangum\n"
                                        "app = FastAPI()\nhandler = Mangum(app)\n"})
    assert found.kind == "serverless"
    assert found.evidence == (Evidence("serverless", "imports mangum (app.py)"),
                              Evidence("weak-server", "FastAPI app in app.py"))
    assert found.describe() == "serverless (imports mangum (app.py); server: FastAPI app in app.py)"
    assert found.short() == "serverless: imports mangum (app.py)"


def test_serverless_and_strong_server_is_unknown(tmp_path):
    found = detect(tmp_path, {"serverless.yml": "service: x\n", "Procfile": "web: gunicorn app:app\n"})
    assert found.kind == "unknown"
    assert found.describe() == "unknown (serverless: serverless.yml; server: Procfile runs gunicorn)"
    assert found.short() == found.describe()


def test_strong_and_weak_server(tmp_path):
    found = detect(tmp_path, {"Procfile": "web: uvicorn app.main:app\n", "app/__init__.py": "",
                              "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"})
    assert found.describe() == "server (Procfile runs uvicorn; FastAPI app in app/main.py)"
    assert found.short() == "server: Procfile runs uvicorn"


def test_short_prefers_strong_server_evidence(tmp_path):
    found = detect(tmp_path, {"a_app.py": "from flask import Flask\napp = Flask(__name__)\n",
                              "z_run.py": "import uvicorn\nuvicorn.run('a_app:app')\n"})
    assert [e.kind for e in found.evidence] == ["weak-server", "server"]
    assert found.describe() == "server (uvicorn started in z_run.py; Flask app in a_app.py)"
    assert found.short() == "server: uvicorn started in z_run.py"


@pytest.mark.parametrize("kinds,expected", [
    ((), "unknown"),
    (("serverless",), "serverless"),
    (("server",), "server"),
    (("weak-server",), "server"),
    (("server", "weak-server"), "server"),
    (("serverless", "weak-server"), "serverless"),
    (("serverless", "server"), "unknown"),
    (("serverless", "server", "weak-server"), "unknown"),
])
def test_decide(kinds, expected):
    assert runtime.decide(kinds) == expected


def test_evidence_order_is_by_path(tmp_path):
    files = {
        "z.py": "import mangum\n",
        "a/b.py": "import chalice\n",
        "a.py": "def handler(event, context):\n    pass\n",
        "serverless.yml": "service: x\n",
        "Procfile": "web: gunicorn app:app\n",
        "docker/Dockerfile": "CMD uvicorn app:app\n",
        "Dockerfile": "CMD hypercorn app:app\n",
    }
    found = detect(tmp_path, files)
    assert [e.what for e in found.evidence] == [
        "Dockerfile runs hypercorn", "Procfile runs gunicorn", "docker/Dockerfile runs uvicorn", "serverless.yml",
        "handler(event, context) in a.py", "imports chalice (a/b.py)", "imports mangum (z.py)"]
    assert found.kind == "unknown"
    assert found.describe() == (
        "unknown (serverless: serverless.yml; serverless: handler(event, context) in a.py; "
        "serverless: imports chalice (a/b.py); serverless: imports mangum (z.py); "
        "server: Dockerfile runs hypercorn; server: Procfile runs gunicorn; server: docker/Dockerfile runs uvicorn)")


# -- the override -------------------------------------------------------------------------------
@pytest.mark.parametrize("setting", ["server", "serverless"])
def test_configuration_overrides(tmp_path, setting):
    make(tmp_path, {"serverless.yml": "service: x\n", "Procfile": "web: gunicorn app:app\n"})
    found = detect_runtime(tmp_path, setting)
    assert found == RuntimeVerdict(setting, (), configured=True)
    assert found.describe() == f"{setting} (set in configuration)"
    assert found.short() == f'runtime = "{setting}" in configuration'
    assert detect_runtime(tmp_path, "auto").kind == "unknown"
    assert detect_runtime(tmp_path).kind == "unknown"


# -- the root -----------------------------------------------------------------------------------
def test_project_root_from_a_file_two_levels_down(tmp_path):
    make(tmp_path, {"Procfile": "web: uvicorn app.main:app\n", "app/__init__.py": "",
                    "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                    "app/db/engine.py": NULLPOOL})
    one_file = tmp_path / "app" / "db" / "engine.py"
    assert project_root(one_file) == tmp_path.resolve()
    assert project_root(one_file.parent) == tmp_path.resolve()
    assert project_root(tmp_path) == tmp_path.resolve()
    # The pre-commit case: one changed file, the whole project's verdict.
    single = detect_runtime(project_root(one_file))
    runtime.clear_cache()
    whole = detect_runtime(tmp_path)
    assert single == whole
    assert whole.describe() == "server (Procfile runs uvicorn; FastAPI app in app/main.py)"


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.cfg", "setup.py", ".git"])
def test_project_root_markers(tmp_path, marker):
    (tmp_path / "proj" / "pkg").mkdir(parents=True)
    if marker == ".git":
        (tmp_path / "proj" / ".git").mkdir()
    else:
        (tmp_path / "proj" / marker).write_text("")
    target = tmp_path / "proj" / "pkg" / "mod.py"
    target.write_text("x = 1\n")
    assert project_root(target) == (tmp_path / "proj").resolve()


def test_project_root_without_marker_is_the_folder_itself(tmp_path):
    from pool_lint.files import _marked_folder

    if _marked_folder(str(tmp_path.resolve())) is not None:
        pytest.skip("a folder above the temporary folder holds a root marker")
    target = tmp_path / "loose" / "mod.py"
    target.parent.mkdir()
    target.write_text("x = 1\n")
    assert project_root(target) == target.parent.resolve()
    assert project_root(target.parent) == target.parent.resolve()


def test_project_root_agrees_with_files_module(tmp_path):
    files = pytest.importorskip("pool_lint.files")
    make(tmp_path, {"a/b/c.py": "x = 1\n", "sub/pyproject.toml": "", "sub/d/e.py": "x = 1\n"})
    for path in (tmp_path / "a" / "b" / "c.py", tmp_path / "a", tmp_path / "sub" / "d" / "e.py", tmp_path / "sub"):
        assert project_root(path) == files.project_root(path)


@pytest.mark.parametrize("folder", [".venv", "venv", "node_modules", "__pycache__", "build", "site-packages",
                                    ".hidden", "pkg/.cache"])
def test_excluded_and_hidden_folders_are_ignored(tmp_path, folder):
    found = detect(tmp_path, {f"{folder}/lib/x.py": "import mangum\n", f"{folder}/gunicorn.conf.py": "",
                              f"{folder}/Dockerfile": "CMD gunicorn app:app\n"})
    assert found.kind == "unknown", found.describe()


@pytest.mark.parametrize("folder", ["examples", "example", "docs", "docs_src", "src/pkg/examples"])
def test_demonstrations_are_not_the_projects_evidence(tmp_path, folder):
    """A library's examples (an example FastAPI app, a uvicorn.run in a demo, a demo's
    Dockerfile) do not make the library a server."""
    found = detect(tmp_path, {f"{folder}/api.py": "import uvicorn\nfrom fastapi import FastAPI\napp = FastAPI()\n"
                                                  "uvicorn.run(app)\n",
                              f"{folder}/lambda_fn.py": "def handler(event, context):\n    return 1\n",
                              f"{folder}/Dockerfile": "CMD gunicorn app:app\n",
                              "src/pkg/__init__.py": "x = 1\n"})
    assert found.kind == "unknown", found.describe()
    bits = runtime.evidence_bits(f"{folder}/api.py", b"import uvicorn\n", frozenset(["uvicorn", "fastapi"]))
    assert bits == 0


def test_an_app_beside_the_demonstrations_still_counts(tmp_path):
    found = detect(tmp_path, {"examples/api.py": "import mangum\n",
                              "service/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"})
    assert found.describe() == "server (FastAPI app in service/main.py)"


def test_a_nested_project_is_not_this_projects_evidence(tmp_path):
    make(tmp_path, {"app.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                    "lambdas/export/pyproject.toml": "", "lambdas/export/fn.py": "import mangum\n",
                    "tools/setup.py": "", "tools/Dockerfile": "CMD gunicorn app:app\n"})
    assert detect_runtime(tmp_path).describe() == "server (FastAPI app in app.py)"
    assert detect_runtime(tmp_path / "lambdas" / "export").describe() == "serverless (imports mangum (fn.py))"


def test_never_reads_outside_the_root(tmp_path):
    outside = make(tmp_path / "outside", {"mangum_app.py": "import mangum\n", "serverless.yml": "x: 1\n",
                                          "pkg/fn.py": "import mangum\n"})
    root = make(tmp_path / "root", {"app.py": "x = 1\n"})
    try:
        os.symlink(outside / "mangum_app.py", root / "linked.py")
        os.symlink(outside / "pkg", root / "linked_pkg", target_is_directory=True)
        os.symlink(outside / "serverless.yml", root / "serverless.yml")
    except (OSError, NotImplementedError):
        pytest.skip("no symbolic links here")
    assert detect_runtime(root) == RuntimeVerdict("unknown", ())
    assert runtime.python_files(root) == [str(root / "app.py")]


# -- caching and the runner's path ----------------------------------------------------------------
def test_cached_per_root(tmp_path):
    make(tmp_path, {"serverless.yml": "service: x\n"})
    first = detect_runtime(tmp_path)
    (tmp_path / "Procfile").write_text("web: gunicorn app:app\n")
    assert detect_runtime(tmp_path) is first  # computed once per root per process
    assert detect_runtime(Path(str(tmp_path) + os.sep + ".")) is first  # the same root, spelled otherwise
    runtime.clear_cache()
    assert detect_runtime(tmp_path).kind == "unknown"


def test_runner_path_gives_the_same_verdict(tmp_path):
    """The runner scans each file itself (code_evidence) and then asks `verdict`."""
    make(tmp_path, {"Procfile": "web: uvicorn app.main:app\n", "app/__init__.py": "",
                    "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                    "app.py": "import mangum\n", "gunicorn.conf.py": "workers = 2\n", "docs/conf.py": "x = 1\n"})
    paths = runtime.python_files(tmp_path)
    cut = len(os.path.abspath(tmp_path)) + 1
    rels = [p[cut:].replace(os.sep, "/") for p in paths]
    assert rels == sorted(rels) == ["app.py", "app/__init__.py", "app/main.py", "docs/conf.py", "gunicorn.conf.py"]
    code = [e for p, rel in zip(paths, rels) for e in runtime.code_evidence(rel, Path(p).read_bytes())]
    assert runtime.verdict(tmp_path, code) == detect_runtime(tmp_path)
    assert runtime.verdict(tmp_path, code, "serverless") == RuntimeVerdict("serverless", (), configured=True)


# Pieces of evidence, each a file; every subset of them is one project below.
PIECES = {
    "a_lambda.py": "def handler(event, context):\n    return {}\n",
    "b_server.py": "import uvicorn\nif __name__ == '__main__':\n    uvicorn.run('app:app')\n",
    "c_app.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    "d_adapter.py": "from mangum import Mangum\n",
    "e_flask.py": "import flask\nweb = flask.Flask(__name__)\n",
    "f_mentions.py": "# uvicorn, FastAPI, mangum and handler, only mentioned\nx = 1\n",
    "g_second_server.py": "from hypercorn.asyncio import serve\nserve(app, config)\n",
    "Procfile": "web: gunicorn app:app\n",
}


@pytest.mark.parametrize("mask", range(1 << len(PIECES)))
def test_lazy_verdict_decides_like_the_whole_verdict(tmp_path, mask):
    """The runner's lazy verdict reads only the files it needs, yet its kind, its short
    text (what a message names) and its key are those of the verdict over every file."""
    chosen = {name: text for bit, (name, text) in enumerate(PIECES.items()) if mask >> bit & 1}
    make(tmp_path, chosen)
    whole = detect_runtime(tmp_path)
    paths = runtime.python_files(tmp_path)
    cut = len(os.path.abspath(tmp_path)) + 1
    rel = {p: p[cut:].replace(os.sep, "/") for p in paths}
    read = []

    def evidence_of(path):
        read.append(path)
        return runtime.code_evidence(rel[path], Path(path).read_bytes())

    files = [(p, bits(rel[p], Path(p).read_bytes())) for p in paths]
    lazy = runtime.lazy_verdict(tmp_path, [f for f in files if f[1]], evidence_of)
    assert (lazy.kind, lazy.key()) == (whole.kind, whole.key())
    if whole.kind != "unknown":  # an unknown runtime silences the rules that name evidence
        assert lazy.short() == whole.short()
    assert len(read) == len(set(read))  # each file read once at most
    if whole.kind == "server" and "Procfile" in chosen and not any(b & runtime.MAY_SERVERLESS for _, b in files):
        assert read == []  # the Procfile decides: no Python file is read


def bits(rel, data):
    """evidence_bits as the runner asks it: with the imports the screen read."""
    from pool_lint.screen import file_facts

    return runtime.evidence_bits(rel, data, file_facts(data).top_modules)


EVIDENCE_FILES = {
    **{name: text for name, text in PIECES.items() if name.endswith(".py")},
    "azure_fn.py": "import azure.functions as func\n",
    "azure_from.py": "from azure import functions\n",
    "late.py": "def main():\n    try: import uvicorn\n    except ImportError: return\n    uvicorn.run('a:b')\n",
    "aliased.py": "import fastapi as fa\napi = fa.FastAPI()\n",
    "lambda.py": "async def lambda_handler(a, b):\n    return a\n",
    "django_app.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
    "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n",
    "gunicorn.conf.py": "workers = 2\n",
    "custom.py": "from gunicorn.app.base import BaseApplication\nclass App(BaseApplication):\n    pass\n",
}


@pytest.mark.parametrize("name", sorted(EVIDENCE_FILES))
def test_evidence_bits_cover_every_piece_of_evidence(name):
    kinds = {"serverless": runtime.MAY_SERVERLESS, "server": runtime.MAY_SERVER, "weak-server": runtime.MAY_WEAK}
    data = EVIDENCE_FILES[name].encode()
    found = runtime.code_evidence(name, data)
    if name not in ("f_mentions.py",):
        assert found, name  # every example holds evidence
    for evidence in found:
        assert bits(name, data) & kinds[evidence.kind], (name, evidence)


def test_evidence_bits_of_plain_files():
    assert bits("plain.py", b"import os\n") == 0
    assert bits("mentions.py", b"# uvicorn, FastAPI and mangum, in words only\nx = 1\n") == 0
    assert bits("gunicorn.conf.py", b"workers = 2\n") == runtime.MAY_SERVER


def test_untriggered_files_are_not_parsed(monkeypatch):
    parsed = []
    real = runtime._parse
    monkeypatch.setattr(runtime, "_parse", lambda data: parsed.append(data) or real(data))
    assert runtime.code_evidence("plain.py", b"import os\nx = 1\n") == ()
    assert parsed == []
    assert runtime.code_evidence("fn.py", b"import mangum\n") == (Evidence("serverless", "imports mangum (fn.py)"),)
    assert parsed == [b"import mangum\n"]


# -- texts ----------------------------------------------------------------------------------------
def test_describe_and_short_texts():
    server = RuntimeVerdict("server", (Evidence("server", "Procfile runs uvicorn"),
                                       Evidence("weak-server", "FastAPI app in app/main.py")))
    assert server.describe() == "server (Procfile runs uvicorn; FastAPI app in app/main.py)"
    assert server.short() == "server: Procfile runs uvicorn"
    weak = RuntimeVerdict("server", (Evidence("weak-server", "FastAPI app in app/main.py"),))
    assert weak.short() == "server: FastAPI app in app/main.py"
    conf = RuntimeVerdict("server", (Evidence("server", "gunicorn.conf.py"),))
    assert conf.short() == "server: gunicorn.conf.py"
    serverless = RuntimeVerdict("serverless", (Evidence("serverless", "serverless.yml"),))
    assert serverless.describe() == "serverless (serverless.yml)"
    assert serverless.short() == "serverless: serverless.yml"
    assert RuntimeVerdict("serverless", (), configured=True).describe() == "serverless (set in configuration)"
    assert RuntimeVerdict("server", (), configured=True).short() == 'runtime = "server" in configuration'
    assert RuntimeVerdict("unknown", ()).describe() == "unknown (no evidence)"
    mixed = RuntimeVerdict("unknown", (Evidence("server", "Procfile runs gunicorn"),
                                       Evidence("serverless", "serverless.yml")))
    assert mixed.describe() == "unknown (serverless: serverless.yml; server: Procfile runs gunicorn)"
    assert str(Evidence("weak-server", "Flask app in app.py")) == "server: Flask app in app.py"


# -- through the command line ---------------------------------------------------------------------
def test_rules_use_the_verdict_and_name_the_evidence(tmp_path):
    make(tmp_path, {"gunicorn.conf.py": "workers = 4\n", "app/db.py": NULLPOOL})
    out = json.loads(run_cli("check", "--output-format", "json", "--no-cache", ".", cwd=tmp_path).stdout)
    assert [f["code"] for f in out] == ["POL108"]
    assert "(server: gunicorn.conf.py)" in out[0]["message"]
    make(tmp_path, {"pyproject.toml": '[tool.pool-lint]\nruntime = "serverless"\n', "app/db.py": QUEUE})
    out = json.loads(run_cli("check", "--output-format", "json", "--no-cache", ".", cwd=tmp_path).stdout)
    assert [f["code"] for f in out] == ["POL109"]
    assert 'runtime = "serverless" in configuration' in out[0]["message"]


def test_one_changed_file_gets_the_whole_project_verdict(tmp_path):
    """The pre-commit case: only app/db.py is passed; the Procfile and the app object
    elsewhere still decide."""
    make(tmp_path, {"Procfile": "web: gunicorn app.main:app\n", "app/__init__.py": "",
                    "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n", "app/db.py": NULLPOOL})
    whole = json.loads(run_cli("check", "--output-format", "json", "--no-cache", ".", cwd=tmp_path).stdout)
    single = json.loads(run_cli("check", "--output-format", "json", "--no-cache", "app/db.py", cwd=tmp_path).stdout)
    assert [(f["code"], f["message"]) for f in single] == [(f["code"], f["message"]) for f in whole]
    assert [f["code"] for f in single] == ["POL108"]


def test_show_runtime(tmp_path):
    make(tmp_path, {"Procfile": "web: uvicorn app:app\n", "app.py": "x = 1\n"})
    result = run_cli("check", "--show-runtime", "--no-cache", ".", cwd=tmp_path)
    assert "server (Procfile runs uvicorn)" in result.stderr


# -- the shared example projects --------------------------------------------------------------------
@pytest.mark.skipif(not CASES.is_dir(), reason="shared/cases is not beside the repository")
@pytest.mark.parametrize("case,kind", [("shop_api", "server"), ("worker_nullpool", "server"),
                                       ("lambda_handler", "serverless"), ("mangum_api", "serverless"),
                                       ("sync_flask", "server"), ("literal_sqlite", "unknown")])
def test_shared_cases(case, kind):
    found = detect_runtime(CASES / case)
    assert found.kind == kind, found.describe()
    assert not found.configured
    assert detect_runtime(project_root(CASES / case / "pyproject.toml")) == found


@pytest.mark.parametrize("text", [
    b"def handler(e, c): pass", b"async def lambda_handler(e):", b"def \\\n  handler():", b"x = handler",
    b"    def handler(self):", b"async \\\n    def handler(e):", b"x=1\nasync\n\ndef  lambda_handler(e)",
    b"def handlers(): pass", b"def handler", b"class A:\n  def handler(self): pass\ndef handler(): pass",
    b"# def handler\n", b"lambda_handler = make()\n",
])
def test_a_handler_function_is_found_as_the_whole_file_regex_finds_it(text):
    from pool_lint.analysis.runtime import _HANDLER_DEF, _defines_handler

    assert _defines_handler(text) == bool(_HANDLER_DEF.search(text))
