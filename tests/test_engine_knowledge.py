"""SPEC 3b on the engine side: who plans capacity (POL105-POL107 only where the runtime is a
long-running server), what the code around a call proves about its URL (the assignment
that reaches the call, guards on the scheme), project roots (a `setup.py` module inside a
package is no root marker) and the imports that resolve across them. Every example is
written for this file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from pool_lint import lint_source
from pool_lint.analysis import runtime
from pool_lint.analysis.runtime import detect_runtime, project_root, python_files

ASYNC = "from sqlalchemy.ext.asyncio import create_async_engine\n"
ENGINE_RULES = ["POL101", "POL102", "POL105", "POL106", "POL107"]


@pytest.fixture(autouse=True)
def fresh_cache():
    runtime.clear_cache()  # one process, many temporary projects
    yield
    runtime.clear_cache()


def write(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def check(root: Path, *args) -> list:
    result = run_cli("check", "--no-cache", "--output-format", "json", *args, ".", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return sorted((f["filename"], f["location"]["row"], f["code"]) for f in json.loads(result.stdout))


def codes(source: str, runtime_setting: str = "server", select=ENGINE_RULES) -> dict:
    """{line: [codes]} of the engine rules on one module."""
    found = {}
    for finding in lint_source(source, path="app/db.py", settings={"runtime": runtime_setting}, select=select):
        found.setdefault(finding.row, []).append(finding.code)
    return found


# -- who plans capacity ---------------------------------------------------------------------------
LIBRARY_STORE = ASYNC + (
    "class Store:\n"
    "    def __init__(self, url):\n"
    "        self.engine = create_async_engine(url)\n")


def test_a_library_is_told_of_stale_connections_but_plans_no_capacity(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'storekit'\n", "storekit/__init__.py": "",
                     "storekit/store.py": LIBRARY_STORE})
    assert detect_runtime(tmp_path).kind == "unknown"
    assert [c for _, _, c in check(tmp_path)] == ["POL101", "POL102"]


def test_a_server_plans_the_capacity_of_its_own_pools(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'shop'\n", "Procfile": "web: uvicorn shop.main:app\n",
                     "shop/__init__.py": "", "shop/store.py": LIBRARY_STORE})
    assert [c for _, _, c in check(tmp_path)] == ENGINE_RULES


def test_the_runtime_setting_decides_too():
    source = ASYNC + "engine = create_async_engine(URL)\n"
    assert codes(source, "server") == {2: ENGINE_RULES}
    assert codes(source, "auto") == {2: ["POL101", "POL102"]}
    assert codes(source, "serverless", select=ENGINE_RULES) == {2: ["POL101", "POL102"]}


def test_a_library_kept_in_a_services_repository_is_its_own_root(tmp_path):
    """The service's Procfile is no evidence for the library beside it: the library's
    root has its own pyproject.toml and no deployment."""
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'svc'\n", "Procfile": "web: uvicorn svc.main:app\n",
                     "svc/__init__.py": "", "svc/db.py": ASYNC + "engine = create_async_engine(URL)\n",
                     "libs/kit/pyproject.toml": "[project]\nname = 'kit'\n", "libs/kit/kit/__init__.py": "",
                     "libs/kit/kit/store.py": LIBRARY_STORE})
    found = check(tmp_path)
    assert [c for f, _, c in found if f.startswith("svc/")] == ENGINE_RULES
    assert [c for f, _, c in found if f.startswith("libs/")] == ["POL101", "POL102"]


# -- project roots -------------------------------------------------------------------------------
def test_a_setup_module_inside_a_package_is_no_root_marker(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "app/__init__.py": "", "app/plugins/__init__.py": "",
                     "app/plugins/setup.py": "x = 1\n", "app/plugins/mod.py": "x = 1\n"})
    assert project_root(tmp_path / "app" / "plugins" / "mod.py") == tmp_path.resolve()
    assert project_root(tmp_path / "app" / "plugins") == tmp_path.resolve()
    # Its files are the project's (runtime evidence, the index).
    assert str(tmp_path / "app" / "plugins" / "setup.py") in python_files(tmp_path)


def test_a_setup_script_beside_a_package_is_a_root_marker(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "tools/legacy/setup.py": "from setuptools import setup\nsetup()\n",
                     "tools/legacy/legacy/__init__.py": "", "tools/legacy/legacy/mod.py": "x = 1\n"})
    assert project_root(tmp_path / "tools" / "legacy" / "legacy" / "mod.py") == (tmp_path / "tools" / "legacy").resolve()
    assert str(tmp_path / "tools" / "legacy" / "legacy" / "mod.py") not in python_files(tmp_path)


def test_a_pyproject_inside_a_package_is_no_root_marker(tmp_path):
    """A project template shipped inside a package (its parent holds __init__.py)."""
    write(tmp_path, {"pyproject.toml": "", "gen/__init__.py": "", "gen/template/pyproject.toml": "",
                     "gen/template/mod.py": "x = 1\n"})
    assert project_root(tmp_path / "gen" / "template" / "mod.py") == tmp_path.resolve()
    assert str(tmp_path / "gen" / "template" / "mod.py") in python_files(tmp_path)


def test_runtime_evidence_in_a_package_with_a_setup_module_counts(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "svc/__init__.py": "", "svc/setup.py": "x = 1\n",
                     "svc/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                     "svc/db.py": ASYNC + "engine = create_async_engine(URL)\n"})
    assert detect_runtime(project_root(tmp_path / "svc" / "db.py")).kind == "server"
    assert [c for _, _, c in check(tmp_path)] == ENGINE_RULES


def test_imports_resolve_across_a_package_with_a_setup_module(tmp_path):
    """A session factory defined in `svc/plugins/setup.py` and imported by its absolute
    name: the session is known, so the HTTP call it holds across is reported."""
    write(tmp_path, {
        "pyproject.toml": "[tool.pool-lint]\nruntime = 'server'\n", "svc/__init__.py": "",
        "svc/plugins/__init__.py": "",
        "svc/plugins/setup.py": ASYNC + "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
                                "engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=1800,"
                                " pool_size=5, max_overflow=0, pool_timeout=5)\n"
                                "Sessions = async_sessionmaker(engine, expire_on_commit=False)\n",
        "svc/plugins/push.py": "import httpx\n\nfrom svc.plugins.setup import Sessions\n\n\n"
                               "async def push(item_id):\n"
                               "    async with Sessions() as session:\n"
                               "        row = await session.get(object, item_id)\n"
                               "        await httpx.AsyncClient().post('https://x.example', json=row)\n",
    })
    assert check(tmp_path) == [("svc/plugins/push.py", 9, "POL201")]


# -- the assignment that reaches the call ------------------------------------------------------------
def test_a_url_assigned_in_each_case_resolves_in_its_own_case():
    source = ASYNC + (
        "def build(kind, folder, host):\n"
        "    match kind:\n"
        "        case 'file':\n"
        "            url = f'sqlite+aiosqlite:///{folder}/cache.db'\n"
        "            cache = create_async_engine(url)\n"  # 6: SQLite
        "        case _:\n"
        "            url = f'postgresql+asyncpg://app@{host}/cache'\n"
        "            cache = create_async_engine(url)\n"  # 9: a server
        "    return cache\n")
    assert codes(source) == {9: ENGINE_RULES}


def test_a_url_assigned_in_both_arms_of_an_if_is_unknown_after_it():
    source = ASYNC + (
        "def build(local, folder):\n"
        "    if local:\n"
        "        url = f'sqlite:///{folder}/a.db'\n"
        "        first = create_async_engine(url)\n"  # 5: SQLite
        "    else:\n"
        "        url = 'postgresql://db/app'\n"
        "    return create_async_engine(url)\n")  # 8: either
    assert codes(source) == {8: ENGINE_RULES}


@pytest.mark.parametrize("body, reported", [
    # The later assignment on every path wins.
    ("    url = 'postgresql://db/app'\n    url = f'sqlite:///{folder}/a.db'\n", False),
    ("    url = f'sqlite:///{folder}/a.db'\n    url = 'postgresql://db/app'\n", True),
    # One that may run in between (a branch) makes it unknown.
    ("    url = f'sqlite:///{folder}/a.db'\n    if folder:\n        url = make()\n", True),
    # One in a branch before the last certain one changes nothing.
    ("    if folder:\n        url = make()\n    url = f'sqlite:///{folder}/a.db'\n", False),
    # A loop may run a later assignment before the call.
    ("    url = f'sqlite:///{folder}/a.db'\n    while folder:\n        engine = create_async_engine(url)\n"
     "        url = make()\n", True),
    # The only assignment that may reach the call: without it the call raises
    # UnboundLocalError, so whenever the call runs, the URL is that one.
    ("    if folder:\n        url = f'sqlite:///{folder}/a.db'\n", False),
    ("    match folder:\n        case '':\n            raise ValueError(folder)\n        case _:\n"
     "            url = f'sqlite:///{folder}/a.db'\n", False),
    # `url = f(url)` reads the earlier value, then binds an unknown one.
    ("    url = f'sqlite:///{folder}/a.db'\n    url = wrap(url)\n", True),
    # An exception handler's assignment does not reach the else clause.
    ("    try:\n        url = f'sqlite:///{folder}/a.db'\n    except OSError:\n        url = make()\n"
     "    else:\n        engine = create_async_engine(url)\n", False),
])
def test_the_assignment_that_reaches_the_call(body, reported):
    """`engine` is the call looked at: the last line's, or the one in the block."""
    source = ASYNC + "def build(folder):\n" + body
    if "engine =" not in body:
        source += "    engine = create_async_engine(url)\n"
    source += "    return engine\n"
    line = next(i for i, text in enumerate(source.splitlines(), 1) if "engine = create_async_engine" in text)
    assert (line in codes(source, select=["POL101"])) == reported


def test_a_module_level_url_assigned_twice_stays_unknown():
    """SPEC 3b speaks of local names: a module-level name keeps SPEC 3's rule (assigned
    exactly once)."""
    source = ASYNC + (
        "URL = 'postgresql://db/app'\n"
        "URL = 'sqlite:///local.db'\n"
        "engine = create_async_engine(URL)\n")
    assert codes(source, select=["POL101"]) == {4: ["POL101"]}


def test_other_keywords_keep_the_rule_of_one_assignment():
    """Only the URL reads the assignment that reaches the call; a keyword's name assigned
    under a condition stays "present, unknown" (SPEC 3)."""
    source = ASYNC + (
        "def build(flag):\n"
        "    if flag:\n"
        "        recycle = 30\n"
        "    return create_async_engine(URL, pool_recycle=recycle)\n")
    assert codes(source, select=["POL102", "POL103"]) == {}


# -- guards on the URL's scheme ----------------------------------------------------------------------
GUARDED = ASYNC + "from sqlalchemy import make_url\n\n\ndef build(url, flag):\n{body}"


@pytest.mark.parametrize("body, sqlite", [
    ("    if url.startswith('sqlite'):\n        return create_async_engine(url)\n", True),
    ("    if url.startswith(('sqlite', 'sqlite+aiosqlite')):\n        return create_async_engine(url)\n", True),
    ("    if url.startswith('postgresql'):\n        return create_async_engine(url)\n", False),
    ("    if flag:\n        pass\n    elif url.startswith('sqlite+aiosqlite'):\n        return create_async_engine(url)\n",
     True),
    ("    if 'sqlite' in url:\n        return create_async_engine(url)\n", True),
    ("    if 'sqlite' not in url:\n        return create_async_engine(url)\n", False),
    ("    if make_url(url).drivername.startswith('sqlite'):\n        return create_async_engine(url)\n", True),
    ("    if url.drivername.startswith('sqlite'):\n        return create_async_engine(url)\n", True),
    ("    if make_url(url).get_backend_name() == 'sqlite':\n        return create_async_engine(url)\n", True),
    ("    if 'sqlite' == make_url(url).get_backend_name():\n        return create_async_engine(url)\n", True),
    ("    if make_url(url).get_backend_name() != 'sqlite':\n        return create_async_engine(url)\n", False),
    ("    if not url.startswith('sqlite'):\n        return create_async_engine(url)\n", False),
    ("    if url.startswith('sqlite'):\n        pass\n    else:\n        return create_async_engine(url)\n", False),
    ("    if url.startswith('sqlite') and flag:\n        return create_async_engine(url)\n", True),
    ("    if url.startswith('sqlite') or flag:\n        return create_async_engine(url)\n", False),
    ("    if url.startswith('sqlite') or url.startswith('sqlite+pysqlite'):\n        return create_async_engine(url)\n",
     True),
    # An early exit: after it, the other outcome holds.
    ("    if not url.startswith('sqlite'):\n        raise ValueError(url)\n    return create_async_engine(url)\n", True),
    ("    if url.startswith('sqlite'):\n        return None\n    return create_async_engine(url)\n", False),
    # The guard no longer speaks for a name bound after it.
    ("    if url.startswith('sqlite'):\n        url = other()\n        return create_async_engine(url)\n", False),
    ("    if not url.startswith('sqlite'):\n        return None\n    url = other()\n    return create_async_engine(url)\n",
     False),
    ("    if url.lower().startswith('sqlite'):\n        return create_async_engine(url)\n", True),
    # A dotted name passed as the URL, guarded as such.
    ("    if flag.url.startswith('sqlite'):\n        return create_async_engine(flag.url)\n", True),
    ("    if flag.url.startswith('sqlite'):\n        return create_async_engine(flag.other)\n", False),
    ("    if flag.url.startswith('sqlite'):\n        flag.url = other()\n        return create_async_engine(flag.url)\n",
     False),
    ("    if flag.url.startswith('sqlite'):\n        flag = other()\n        return create_async_engine(flag.url)\n",
     False),
    # A guard on another name proves nothing about this one.
    ("    if flag.startswith('sqlite'):\n        return create_async_engine(url)\n", False),
    # A guard in an enclosing function: the nested one may run with another value.
    ("    if url.startswith('sqlite'):\n        def later():\n            return create_async_engine(url)\n"
     "        return later\n", False),
])
def test_a_guard_proves_the_scheme_in_its_branch(body, sqlite):
    found = codes(GUARDED.format(body=body), select=["POL101"])
    assert (found == {}) == sqlite, found


def test_a_module_level_guard_on_a_settings_attribute():
    source = ASYNC + (
        "from app.config import settings\n"
        "if settings.DATABASE_URL.startswith('sqlite'):\n"
        "    engine = create_async_engine(settings.DATABASE_URL, connect_args={'check_same_thread': False})\n"
        "else:\n"
        "    engine = create_async_engine(settings.DATABASE_URL)\n")
    assert codes(source, select=["POL101"]) == {6: ["POL101"]}


def test_a_guard_on_a_module_level_name_in_a_function():
    """`settings` and `DATABASE_URL` are the module's: the function that tests them and
    then passes them binds neither."""
    source = ASYNC + (
        "import os\n"
        "from app.config import settings\n"
        "DATABASE_URL = os.environ['DATABASE_URL']\n"
        "def build():\n"
        "    if DATABASE_URL.startswith('sqlite'):\n"
        "        return create_async_engine(DATABASE_URL)\n"  # 7: SQLite
        "    return create_async_engine(DATABASE_URL)\n"  # 8
        "def build_from_settings():\n"
        "    if 'sqlite' in settings.DATABASE_URL:\n"
        "        return create_async_engine(settings.DATABASE_URL)\n"  # 11: SQLite
        "    return create_async_engine(settings.DATABASE_URL)\n")  # 12
    assert codes(source, select=["POL101"]) == {8: ["POL101"], 12: ["POL101"]}


def test_sqlalchemy_names_the_backend_as_the_guards_read_it():
    sa = pytest.importorskip("sqlalchemy")
    url = sa.make_url("sqlite+aiosqlite:///./cache.db")
    assert url.drivername == "sqlite+aiosqlite" and url.get_backend_name() == "sqlite"
    assert sa.make_url("postgresql+asyncpg://app@db/x").get_backend_name() == "postgresql"
    assert sa.make_url is sa.engine.make_url is sa.engine.url.make_url


# -- catalogue paths -------------------------------------------------------------------------------
@pytest.mark.parametrize("imports, call", [
    ("import emails", "emails.Message(subject='Receipt', mail_from='shop@example.com').send(to=to)"),
    ("import emails.message", "emails.message.Message(subject='Receipt', mail_from='shop@example.com').send(to=to)"),
    ("from emails.message import Message", "Message(subject='Receipt', mail_from='shop@example.com').send(to=to)"),
    ("from emails import message", "message.html(html='<p>Receipt</p>', mail_from='shop@example.com').send(to=to)"),
])
def test_a_catalogued_name_is_matched_by_every_public_path(imports, call):
    source = (f"{imports}\nfrom sqlalchemy.orm import Session\n\n\n"
              "def receipt(engine, to):\n"
              "    with Session(engine) as session:\n"
              "        session.execute(QUERY)\n"
              f"        {call}\n")
    found = lint_source(source, path="app/mail.py", select=["POL201"])
    assert [(f.code, f.row) for f in found] == [("POL201", 8)]


def test_the_catalogue_lists_the_public_paths_python_emails_exports():
    """What PUBLIC_PATHS claims of python-emails, read from its package when installed."""
    from pool_lint.analysis import catalog

    emails = pytest.importorskip("emails")
    import emails.message

    for name, paths in catalog.PUBLIC_PATHS.items():
        for path in paths:
            module, _, attr = path.rpartition(".")
            assert getattr(emails.message, attr) is getattr(emails, name.rpartition(".")[2])
            assert catalog.CLIENTS[path] == catalog.CLIENTS[name]


# -- imports across namespace packages; a module that cannot be read ---------------------------------
NAMESPACE_PROJECT = {
    "pyproject.toml": "[tool.pool-lint]\nruntime = 'server'\n",
    "svc/__init__.py": "", "svc/routes/__init__.py": "",
    "svc/db.py": ASYNC + "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
                 "engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=1800, pool_size=5,"
                 " max_overflow=0, pool_timeout=5)\n"
                 "Sessions = async_sessionmaker(engine, expire_on_commit=False)\n",
    # notifiers/ and svc/services/ have no __init__.py: namespace packages (PEP 420).
    "notifiers/sms.py": "import httpx\n\n\nasync def send_text(phone):\n"
                        "    await httpx.AsyncClient().post('https://sms.example.com', json={'to': phone})\n",
    "svc/services/mail.py": "import httpx\n\nfrom ..db import Sessions\n\n\nasync def send_mail(to):\n"
                            "    await httpx.AsyncClient().post('https://mail.example.com', json={'to': to})\n\n\n"
                            "async def audit(item_id):\n"
                            "    async with Sessions() as session:\n"
                            "        await session.get(object, item_id)\n"
                            "        await send_mail('audit@example.com')\n",
    "svc/routes/remind.py": "from notifiers.sms import send_text\nfrom svc.db import Sessions\n"
                            "from svc.services.mail import send_mail\n\n\nasync def remind(item_id):\n"
                            "    async with Sessions() as session:\n"
                            "        row = await session.get(object, item_id)\n"
                            "        await send_text(row.phone)\n"
                            "        await send_mail(row.email)\n",
}


def test_imports_resolve_through_namespace_packages(tmp_path):
    write(tmp_path, NAMESPACE_PROJECT)
    assert check(tmp_path) == [("svc/routes/remind.py", 9, "POL201"), ("svc/routes/remind.py", 10, "POL201"),
                               ("svc/services/mail.py", 13, "POL201")]


def test_a_module_is_named_from_the_root_through_namespace_packages(tmp_path):
    from pool_lint.analysis.project import Project

    write(tmp_path, {"pyproject.toml": "", "notifiers/sms.py": "x = 1\n", "backend/app/__init__.py": "",
                     "backend/app/main.py": "x = 1\n", "src/kit/__init__.py": "", "src/kit/core.py": "x = 1\n",
                     "my-tools/run.py": "x = 1\n", "manage.py": "x = 1\n"})
    project = Project(tmp_path)
    names = {rel: project.module_name(tmp_path / rel)
             for rel in ("notifiers/sms.py", "backend/app/main.py", "backend/app/__init__.py", "src/kit/core.py",
                         "my-tools/run.py", "manage.py")}
    assert names == {"notifiers/sms.py": ("notifiers.sms", False), "backend/app/main.py": ("backend.app.main", False),
                     "backend/app/__init__.py": ("backend.app", True), "src/kit/core.py": ("kit.core", False),
                     "my-tools/run.py": ("run", False), "manage.py": ("manage", False)}
    # Found by its package name from inside backend/, it keeps its one name.
    module = project.find_module("app.main", near=tmp_path / "backend" / "app" / "__init__.py")
    assert module is not None and module.name == "backend.app.main"


def test_a_module_that_cannot_be_parsed_makes_its_names_unknown(tmp_path):
    """Not a library's name, not another module's: unknown."""
    from pool_lint.analysis.project import Project

    write(tmp_path, {"pyproject.toml": "", "app/__init__.py": "from . import deps\n",
                     "app/deps.py": "def get_client(:\n", "app/routes.py": "from app.deps import get_client\n"})
    project = Project(tmp_path)
    near = tmp_path / "app" / "routes.py"
    assert project.resolve("app.deps.get_client", near) == (None, None, None)
    assert project.canonical("app.deps.get_client", near) is None
    assert project.resolve("httpx.AsyncClient", near) == ("httpx.AsyncClient", None, None)  # a library's


def test_the_cache_sees_the_runtime_that_decides_capacity(tmp_path):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'shop'\n", "shop/__init__.py": "",
                     "shop/store.py": LIBRARY_STORE})
    first = run_cli("check", "--output-format", "json", ".", cwd=tmp_path)
    assert sorted(f["code"] for f in json.loads(first.stdout)) == ["POL101", "POL102"]
    write(tmp_path, {"Procfile": "web: uvicorn shop.main:app\n"})
    again = run_cli("check", "--output-format", "json", ".", cwd=tmp_path)
    assert sorted(f["code"] for f in json.loads(again.stdout)) == sorted(ENGINE_RULES)


CHAIN_DB = (ASYNC + "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
            "engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=1800, pool_size=5, max_overflow=0,"
            " pool_timeout=5)\nSessions = async_sessionmaker(engine, expire_on_commit=False)\n")
CHAIN_JOB = ("import httpx\n\nfrom app.db import Sessions\n\n\nasync def sync(item_id):\n"
             "    async with Sessions() as session:\n"
             "        await session.get(object, item_id)\n"
             "        await httpx.AsyncClient().post('https://partner.example.com', json={'id': item_id})\n")


@pytest.mark.parametrize("screen", [True, False])
def test_absolute_imports_resolve_from_the_top_of_every_package_chain(tmp_path, screen):
    """`services/api/` is the top of the `app` package chain: a script beside it (its
    own folder is no package) imports `app.db` as the service's process does."""
    write(tmp_path, {"pyproject.toml": "[tool.pool-lint]\nruntime = 'server'\n",
                     "services/api/app/__init__.py": "", "services/api/app/db.py": CHAIN_DB,
                     "services/api/scripts/sync.py": CHAIN_JOB})
    args = () if screen else ("--no-screen",)
    assert check(tmp_path, *args) == [("services/api/scripts/sync.py", 9, "POL201")]


def test_two_packages_of_one_name_at_the_tops_of_two_chains_are_unknown(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.pool-lint]\nruntime = 'server'\n",
                     "services/api/app/__init__.py": "", "services/api/app/db.py": CHAIN_DB,
                     "services/admin/app/__init__.py": "", "services/admin/app/db.py": "Sessions = None\n",
                     "scripts/sync.py": CHAIN_JOB})
    assert check(tmp_path) == []
