"""The pipeline's speed devices never change what is found: the byte screen, the cache and
parallel workers each turned on and off give identical findings (issue: speed)."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import SHARED, run_cli

CASES = SHARED / "cases"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")


def findings(cwd, *extra):
    result = run_cli("check", "--output-format", "json", "--extend-select", "POL202", *extra, ".", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return sorted((f["filename"], f["location"]["row"], f["location"]["column"], f["code"], f["message"])
                  for f in json.loads(result.stdout))


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory):
    """Every acceptance project copied many times into one project (enough files for the
    parallel path), plus files the screen must let through or hold back."""
    root = tmp_path_factory.mktemp("tree")
    (root / "pyproject.toml").write_text("[project]\nname = 'big'\n")
    for project in sorted(p for p in CASES.iterdir() if p.is_dir()):
        for copy in range(6):
            shutil.copytree(project, root / f"{project.name}_{copy}",
                            ignore=shutil.ignore_patterns("pyproject.toml", "__pycache__"))
    plain = root / "plain"
    plain.mkdir()
    for i in range(60):
        (plain / f"util_{i}.py").write_text(f"def helper_{i}(x):\n    return [y * {i} for y in x]\n")
    return root


@needs_cases
@pytest.mark.parametrize("project", sorted(p.name for p in CASES.iterdir() if (p / "pyproject.toml").exists())
                         if CASES.is_dir() else [])
def test_screen_jobs_and_cache_do_not_change_findings_on_cases(project, tmp_path):
    work = tmp_path / project
    shutil.copytree(CASES / project, work)
    reference = findings(work, "--no-cache", "--no-screen", "--jobs", "1")
    assert findings(work, "--no-cache", "--jobs", "1") == reference
    assert findings(work, "--no-cache", "--jobs", "2") == reference
    assert findings(work) == reference  # cold cache
    assert findings(work) == reference  # warm cache


@needs_cases
@pytest.mark.slow
def test_screen_jobs_and_cache_on_a_large_tree(big_tree):
    reference = findings(big_tree, "--no-cache", "--no-screen", "--jobs", "1")
    assert len(reference) > 100
    assert findings(big_tree, "--no-cache", "--jobs", "2") == reference
    assert findings(big_tree, "--no-cache", "--no-screen", "--jobs", "2") == reference
    assert findings(big_tree) == reference
    assert findings(big_tree, "--jobs", "1") == reference


@needs_cases
@pytest.mark.slow
def test_many_changed_files_under_a_warm_cache(big_tree, tmp_path):
    """Enough changed files for the worker pool while the cache answers the others
    (engine files among them): each finding once, as without any cache."""
    tree = tmp_path / "tree"
    shutil.copytree(big_tree, tree)
    reference = findings(tree, "--no-cache", "--no-screen", "--jobs", "1")
    assert findings(tree) == reference  # fills the cache
    plain = sorted((tree / "plain").glob("*.py"))
    assert len(plain) >= 48  # runner.PARALLEL_THRESHOLD
    for path in plain:
        path.write_text(path.read_text() + "# edited\n")
    assert findings(tree) == reference
    assert findings(tree) == reference  # and warm again


def test_cache_sees_changes_in_the_file_and_in_its_dependencies(project):
    project.write("app/__init__.py", "")
    project.write("app/settings.py", "RECYCLE = 60\n")
    db = project.write("app/db.py", "from sqlalchemy import create_engine\nfrom app.settings import RECYCLE\n"
                                    "engine = create_engine(URL, pool_recycle=RECYCLE)\n")
    first = findings(project.root)
    assert [f[3] for f in first] == ["POL101", "POL103", "POL105", "POL106", "POL107"]
    db.write_text(db.read_text().replace("URL,", "URL, pool_pre_ping=True,"))
    assert [f[3] for f in findings(project.root)] == ["POL103", "POL105", "POL106", "POL107"]
    project.write("app/settings.py", "RECYCLE = 1800\n")  # only the dependency changes
    assert [f[3] for f in findings(project.root)] == ["POL105", "POL106", "POL107"]


def test_cached_project_index_sees_a_file_that_starts_using_a_session(project):
    """A warm run reuses the index of a root whose files are all unchanged; an edit of a
    file that screened nothing before, or a new file, makes it screen again."""
    project.write("app/__init__.py", "")
    project.write("app/db.py", "from sqlalchemy.orm import sessionmaker\nSessionLocal = sessionmaker()\n")
    routes = project.write("app/routes.py", "import requests\n\n\ndef pay():\n"
                                            "    requests.post('https://payments.example.com')\n")
    assert findings(project.root) == []
    assert findings(project.root) == []  # warm: the remembered index
    routes.write_text("import requests\nfrom app.db import SessionLocal\n\n\ndef pay():\n"
                      "    with SessionLocal() as db:\n        db.execute('select 1')\n"
                      "        requests.post('https://payments.example.com')\n")
    assert [(f[0], f[3]) for f in findings(project.root)] == [("app/routes.py", "POL201")]
    project.write("app/jobs.py", "import httpx\nfrom app.db import SessionLocal\n\n\ndef job():\n"
                                 "    with SessionLocal() as db:\n        db.flush()\n        httpx.get('https://x')\n")
    assert [(f[0], f[3]) for f in findings(project.root)] == [("app/jobs.py", "POL201"), ("app/routes.py", "POL201")]
    assert findings(project.root, "--no-cache", "--no-screen") == findings(project.root)


def test_a_cached_result_is_not_reused_when_the_index_now_looks_elsewhere_in_the_file(project):
    """The hint prunes what the analysis reads: a function outside it is neither analysed
    nor followed into other files, so the cached result cannot name those files as its
    dependencies. When another file's change widens the hint (its function starts calling
    out), the file is analysed again, although neither it nor its recorded dependencies
    changed."""
    project.write("app/__init__.py", "")
    helpers = project.write("app/helpers.py", "def helper(url):\n    return url.upper()\n")
    project.write("app/service.py", "import httpx\nfrom sqlalchemy.orm import Session\n\nfrom app.helpers import helper\n\n\n"
                                    "def pay(session: Session):\n    session.flush()\n    helper('https://x')\n\n\n"
                                    "def notify(session: Session):\n    session.flush()\n    httpx.post('https://x')\n")
    assert [(f[1], f[3]) for f in findings(project.root)] == [(14, "POL201")]
    helpers.write_text("import httpx\n\n\ndef helper(url):\n    return httpx.post(url)\n")
    assert [(f[1], f[3]) for f in findings(project.root)] == [(9, "POL201"), (14, "POL201")]
    assert findings(project.root) == findings(project.root, "--no-cache", "--no-screen")
    helpers.write_text("def helper(url):\n    return url.upper()\n")  # and back
    assert [(f[1], f[3]) for f in findings(project.root)] == [(14, "POL201")]


def test_names_imported_under_another_name_are_followed(project):
    """An `as` import of a session class, of a project's session factory, of a module
    that holds one, of `gather` or `Depends`: each reaches the rule through the name
    that carries it (screen.Index.carried, names imported from the project), and the
    screen finds what the whole analysis finds."""
    project.write("app/__init__.py", "")
    project.write("app/db.py", "from sqlalchemy.orm import sessionmaker as make\nSessionLocal = make()\n")
    project.write("app/typed.py", "import httpx\nfrom sqlalchemy.orm import Session as DbSession\n\n\n"
                                  "def pay(session: DbSession):\n    session.execute('select 1')\n"
                                  "    httpx.post('https://x')\n")
    project.write("app/local.py", "import httpx\nfrom app.db import SessionLocal as SL\n\n\ndef pay():\n"
                                  "    with SL() as s:\n        s.execute('select 1')\n        httpx.post('https://x')\n")
    project.write("app/whole.py", "import httpx\nimport app.db as database\n\n\ndef pay():\n"
                                  "    with database.SessionLocal() as s:\n        s.execute('select 1')\n"
                                  "        httpx.post('https://x')\n\n\ndef leak():\n    s = database.SessionLocal()\n"
                                  "    return s.execute('select 1')\n")
    project.write("app/tasks.py", "from asyncio import gather as together\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
                                  "\n\nasync def both(session: AsyncSession):\n"
                                  "    await together(session.execute('a'), session.execute('b'))\n")
    project.write("app/deps.py", "import httpx\nfrom fastapi import Depends as Inject\nfrom app.db import SessionLocal\n\n\n"
                                 "def get_db():\n    with SessionLocal() as s:\n        yield s\n\n\n"
                                 "def pay(db=Inject(get_db)):\n    db.execute('select 1')\n    httpx.post('https://x')\n")
    found = findings(project.root)
    assert sorted({(f[0], f[3]) for f in found}) == [
        ("app/deps.py", "POL201"), ("app/local.py", "POL201"), ("app/tasks.py", "POL205"),
        ("app/typed.py", "POL201"), ("app/whole.py", "POL201"), ("app/whole.py", "POL203")]
    assert found == findings(project.root, "--no-cache", "--no-screen")


def test_a_word_in_a_string_or_comment_hands_nothing_out():
    """A module-level statement whose only session word sits in a string or a comment
    does not make its importers candidates; the same word in code does."""
    from pool_lint.screen import file_facts, select

    files = {
        "app/cli.py": b'import click\ngroup = click.Group("Session Parameters")  # Session options\n',
        "app/commands.py": b"import httpx\nfrom app.cli import group\n\ndef run():\n    s = group()\n    httpx.get('https://x')\n",
    }
    facts = {path: file_facts(data) for path, data in files.items()}
    assert select(facts, files.get, root="") == set()
    files["app/cli.py"] = b"from sqlalchemy.orm import Session\ngroup = Session\n"
    facts = {path: file_facts(data) for path, data in files.items()}
    assert "app/commands.py" in select(facts, files.get, root="")


@pytest.mark.parametrize("use", [
    "from app.http import Client\n\nasync def pay(s: AsyncSession = Depends(get_db)):\n"
    "    await s.execute('select 1')\n    async with Client() as c:\n        await c.post('https://x')\n",
    "from app import http\n\nasync def pay(s: AsyncSession = Depends(get_db)):\n"
    "    await s.execute('select 1')\n    async with http.Client() as c:\n        await c.post('https://x')\n",
    "from app.api import Client\n\nasync def pay(s: AsyncSession = Depends(get_db)):\n"
    "    await s.execute('select 1')\n    await Client().post('https://x')\n",
])
def test_screen_follows_a_client_class_re_exported_by_the_project(project, use):
    """A client imported from a project module that imports it from httpx (directly, as
    a module attribute, or through a second re-export) is found with the screen on."""
    project.write("app/__init__.py", "")
    project.write("app/db.py", "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
                               "SessionLocal = async_sessionmaker(expire_on_commit=False)\n\n\nasync def get_db():\n"
                               "    async with SessionLocal() as s:\n        yield s\n")
    project.write("app/http.py", "from httpx import AsyncClient as Client\n")
    project.write("app/api.py", "from app.http import Client\n")
    project.write("app/routes.py", "from fastapi import Depends\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
                                   "from app.db import get_db\n" + use)
    found = findings(project.root, "--no-cache")
    assert [(f[0], f[3]) for f in found] == [("app/routes.py", "POL201")]
    assert findings(project.root, "--no-cache", "--no-screen") == found


def test_an_import_of_a_library_type_calls_nothing_out():
    """`from http import HTTPStatus` or `from httpx import Response` is no external call
    library import; `import httpx` or `from httpx import AsyncClient` is."""
    from pool_lint.screen import EXT, file_facts

    assert not file_facts(b"from http import HTTPStatus\nfrom httpx import Response\n").bits & EXT
    assert not file_facts(b"from urllib.parse import urlparse\nimport requests.exceptions as e\n").bits & EXT
    for line in (b"import httpx\n", b"from httpx import AsyncClient\n", b"import http.client\n",
                 b"from urllib.request import urlopen\n", b"from stripe import Charge\n", b"import boto3\n"):
        assert file_facts(line).bits & EXT, line


def test_screen_looks_for_a_session_and_a_call_in_one_function():
    """A file whose session words and external calls sit in different functions (or
    only in strings) cannot hold POL201; one function holding both keeps it."""
    from pool_lint.screen import file_facts, select

    apart = (b"import httpx\nfrom sqlalchemy.orm import Session\n\n\ndef load(session: Session):\n"
             b"    return session.get(User, 1)\n\n\ndef ping():\n    \"\"\"Session docs.\"\"\"\n"
             b"    return httpx.get('https://x')\n")
    together = apart + b"\n\ndef both(session: Session):\n    session.flush()\n    httpx.post('https://x')\n"
    requests_only = b"import requests\n\n\ndef f():\n    s = requests.Session()\n    s.get('https://x')\n"
    for data, expected in ((apart, set()), (together, {"app/a.py"}), (requests_only, set())):
        files = {"app/a.py": data}
        assert select({p: file_facts(d) for p, d in files.items()}, files.get, root="") == expected, data


def test_engine_rules_in_test_code_follow_check_tests(project):
    engine = "from sqlalchemy import create_engine\nengine = create_engine(URL)\n"
    project.write("tests/conftest.py", engine)
    project.write("app/db.py", engine)
    default = findings(project.root, "--no-cache")
    assert {f[0] for f in default} == {"app/db.py"}
    assert findings(project.root, "--no-cache", "--no-screen") == default
    project.write("pyproject.toml", "[tool.pool-lint]\ncheck-tests = true\n")
    checked = findings(project.root, "--no-cache")
    assert {f[0] for f in checked} == {"app/db.py", "tests/conftest.py"}
    assert findings(project.root, "--no-cache", "--no-screen") == checked


def test_a_syntax_error_is_remembered_for_the_same_bytes_and_python(project):
    """A file that does not parse gives the same POL001 for the same bytes under the same
    Python (the cache's key holds its version): a warm run takes it from the cache. A
    file that could not be read is asked again."""
    import sys

    from pool_lint.cache import decode, user_key, verified_body

    project.write("app/broken.py", "from sqlalchemy import create_engine\nengine = create_engine(URL,\n")
    first = findings(project.root)
    assert [(f[0], f[3]) for f in first] == [("app/broken.py", "POL001")]
    (cache_file,) = (project.root / ".pool_lint_cache").glob("*.json")
    raw = json.loads(verified_body(cache_file.read_bytes(), user_key()))
    entries, _ = decode(raw, raw["name"])
    (entry,) = [e for path, e in entries.items() if path.endswith("broken.py")]
    assert [f.code for f in entry.findings] == ["POL001"]
    assert f"Python {sys.version_info[0]}.{sys.version_info[1]}" in entry.findings[0].message
    assert findings(project.root) == first
    project.write("app/broken.py", "from sqlalchemy import create_engine\nengine = create_engine(URL)\n")
    assert "POL001" not in {f[3] for f in findings(project.root)}


def test_unwritable_cache_is_not_fatal(project):
    project.write("app/db.py", "from sqlalchemy import create_engine\nengine = create_engine(URL)\n")
    (project.root / ".pool_lint_cache").write_text("a file where the cache folder should be")
    result = run_cli("check", ".", cwd=project.root)
    assert result.returncode == 1
    assert "could not write the cache" in result.stderr


def test_screen_follows_a_dependency_re_exported_by_a_module_without_sqlalchemy(project):
    project.write("app/__init__.py", "")
    project.write("app/db.py", "from sqlalchemy.orm import sessionmaker\nSessionLocal = sessionmaker()\n")
    project.write("app/deps.py", "from app.db import SessionLocal\n\n\ndef get_db():\n"
                                 "    with SessionLocal() as db:\n        yield db\n")
    project.write("app/routes.py", "import requests\nfrom fastapi import Depends\nfrom app.deps import get_db\n\n\n"
                                   "def pay(db=Depends(get_db)):\n    db.execute('select 1')\n"
                                   "    requests.post('https://payments.example.com')\n")
    project.write("app/util.py", "def add(a, b):\n    return a + b\n")
    screened = findings(project.root, "--no-cache")
    assert [(f[0], f[3]) for f in screened] == [("app/routes.py", "POL201")]
    assert findings(project.root, "--no-cache", "--no-screen") == screened


def test_screen_selection_of_a_project():
    from pool_lint.screen import file_facts, select

    files = {
        # POL204 can fire here, and a session is made.
        "app/db.py": b"from sqlalchemy.ext.asyncio import async_sessionmaker\nSessionLocal = async_sessionmaker()\n",
        # A session made by a `with` from a factory imported from the project: the `with`
        # closes it (no POL203), and no other session rule can fire.
        "app/deps.py": b"from app.db import SessionLocal\n\nasync def get_db():\n    async with SessionLocal() as s:\n"
                       b"        yield s\n",
        # A session made from it in an assignment (POL203).
        "app/jobs.py": b"from app.db import SessionLocal\n\nasync def job():\n    s = SessionLocal()\n"
                       b"    await s.execute('x')\n",
        # A session injected through Depends, and an HTTP library (POL201).
        "app/routes.py": b"import httpx\nfrom fastapi import Depends\nfrom app.deps import get_db\n\n"
                         b"async def pay(s=Depends(get_db)):\n    await httpx.post('https://x')\n",
        # The dependency's name without Depends: no session can reach this file.
        "app/reports.py": b"import httpx\nfrom app.deps import get_db\n\nasync def report():\n    get_db\n",
        # External calls without a session: nothing to hold.
        "app/notify.py": b"import httpx\n\ndef send(text):\n    httpx.post('https://x', json=text)\n",
        "app/views.py": b"from app.notify import send\n\ndef view():\n    send('hi')\n",
        # A session and a project function that calls out (the chain).
        "app/orders.py": b"from app.db import SessionLocal\nfrom app.notify import send\n\nasync def f():\n"
                         b"    async with SessionLocal() as s:\n        await s.execute('x')\n        send('x')\n",
        # A session parameter alone, with neither calls out nor sessions made nor tasks.
        "app/crud.py": b"from sqlalchemy.orm import Session\n\ndef get(session: Session):\n"
                       b"    return session.get(User, 1)\n",
        # An engine factory under another name, imported from the project.
        "app/compat.py": b"from sqlalchemy import create_engine as make_engine\n",
        "app/engine.py": b"from app.compat import make_engine\nengine = make_engine(URL)\n",
        "app/models_user.py": b"from app.schemas import User\n",
        "app/other.py": b"from app.routes import router\n",
    }
    facts = {path: file_facts(data) for path, data in files.items()}
    chosen = select(facts, files.get, root="")
    assert chosen == {"app/db.py", "app/jobs.py", "app/routes.py", "app/orders.py", "app/compat.py", "app/engine.py"}
    # Only the families the enabled rules need: the engine rules look at engine factories.
    assert select(facts, files.get, frozenset(["engine"]), root="") == {"app/compat.py", "app/engine.py"}


def test_the_walk_lists_what_os_walk_lists_once_for_the_whole_run(tmp_path):
    """files._walk is os.walk (top-down, a link to a folder listed but not entered), and
    the listing it leaves is what the run's second walk (runtime.python_files) reads."""
    import os

    from pool_lint.analysis.runtime import python_files
    from pool_lint.files import _walk

    for folder in ("a/b/c", "a/d", "e", ".hidden", "sub"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    for name in ("x.py", "a/y.py", "a/b/c/z.py", "a/d/w.txt", "e/v.py", ".hidden/h.py", "sub/s.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "sub" / "setup.cfg").write_text("")  # a project of its own
    os.symlink(tmp_path / "a", tmp_path / "link_to_a")
    os.symlink(tmp_path / "x.py", tmp_path / "link_to_x.py")
    os.symlink(tmp_path / "missing.py", tmp_path / "broken.py")
    expected = []
    for folder, dirs, files in os.walk(str(tmp_path)):
        dirs.sort()  # as the discovery does
        expected.append((folder, list(dirs), sorted(files)))
    listing: dict = {}
    walked = []
    for folder, absolute, dirs, files in _walk(str(tmp_path), str(tmp_path), listing):
        dirs.sort()
        walked.append((folder, sorted(dirs), sorted(files)))
        assert absolute == folder
    assert sorted(walked) == sorted(expected)
    assert [w[0] for w in walked] == [e[0] for e in expected]  # the same order
    assert str(tmp_path / "link_to_a") not in listing
    assert python_files(tmp_path, listing) == python_files(tmp_path)
    assert python_files(tmp_path, listing) == [str(tmp_path / p) for p in ("a/b/c/z.py", "a/y.py", "e/v.py", "x.py")]


def test_the_analysis_uses_the_scan_s_layout_only_for_the_bytes_laid_out(project, monkeypatch):
    """A kept file the scan laid out is not tokenized again: its statements' heads go
    with it to the analysis, with the content hash of the bytes laid out. Bytes that
    changed in between (the file was written meanwhile) are tokenized afresh: heads of
    other bytes would cut the skeleton at the wrong lines."""
    from pool_lint import tasks
    from pool_lint.analysis import source as source_module
    from pool_lint.analysis.statements import heads, layout, skeleton
    from pool_lint.cache import digest
    from pool_lint.config import Settings
    from pool_lint.files import Target
    from pool_lint.plan import Plan

    source = ("from sqlalchemy.orm import Session\nimport httpx\n\n\ndef helper():\n    return 1\n\n\n"
              "def pay(session: Session):\n    session.flush()\n    httpx.post('https://x')\n")
    path = project.write("app/pay.py", source)
    plan = Plan(False, False, ((9, 11),), (), ())
    target = Target(str(path), "app/pay.py")
    given = []

    def cut(text, keep=(), known=None):
        given.append(known)
        return skeleton(text, keep, known)

    monkeypatch.setattr(source_module, "skeleton", cut)
    tasks._init_worker(Settings(), tasks.RunOptions())
    try:
        fresh = tasks._analyse((target, plan, None))
        laid_out = heads(layout(source.encode()))
        known = tasks._analyse((target, plan, (digest(source.encode()), laid_out)))
        other = b"import os\n" * 4 + source.encode()  # another file's heads, named by its own hash
        stale = tasks._analyse((target, plan, (digest(other), heads(layout(other)))))
    finally:
        tasks._init_worker(Settings(), tasks.RunOptions())
    assert given == [None, laid_out, None]
    assert [f.code for f in fresh.findings] == ["POL201"]
    assert known.findings == fresh.findings == stale.findings


def test_the_analysis_uses_the_index_s_own_layout_of_a_kept_file(tmp_path):
    """A kept file the scan did not lay out (it names no session or engine: here a route
    that takes one through `Depends`), but the index did, goes to the analysis with the
    heads of that layout and the content hash of the bytes laid out (stages.RootIndex
    .layouts, and Analyses.final for a file made final while the index works): in one
    process and with workers. The findings are those of --no-screen."""
    from conftest import SERVER_PROJECT, write_tree
    from pool_lint.analysis.statements import heads, layout
    from pool_lint.cache import digest
    from pool_lint.config import Settings
    from pool_lint.files import discover
    from pool_lint.runner import RunOptions, run

    route = ("import httpx\nfrom fastapi import Depends\nfrom app.db import get_db\n\n\n"
             "async def pay(db=Depends(get_db)):\n    await db.execute('SELECT 1')\n"
             "    async with httpx.AsyncClient() as client:\n        await client.post('https://x')\n")
    files = {"app/__init__.py": "", "app/routes.py": route,
             "app/db.py": ("from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n"
                           "engine = create_async_engine('postgresql+asyncpg://h/db', pool_pre_ping=True)\n"
                           "Maker = async_sessionmaker(engine)\n\n\n"
                           "async def get_db():\n    async with Maker() as session:\n        yield session\n")}
    files.update({f"app/part_{i}.py": f"VALUE = {i}\n" for i in range(60)})  # enough files for workers
    write_tree(tmp_path, files, SERVER_PROJECT)
    settings = Settings()
    targets, _ = discover([str(tmp_path)], settings)
    path = str(tmp_path / "app" / "routes.py")
    expected = (digest(route.encode()), heads(layout(route.encode())))
    for jobs in (1, 2):
        kept: list = []
        result = run(targets, settings, RunOptions(jobs=jobs, use_cache=False), keep=kept)
        scanned, analyses = kept[1], kept[2]
        assert scanned.scans[path].statements is None
        assert analyses.laid == {path: expected}
        assert [f.code for f in result.findings if f.filename.endswith("routes.py")] == ["POL201"]
    assert findings(tmp_path, "--no-cache", "--jobs", "2") == findings(tmp_path, "--no-cache", "--no-screen")


def test_the_workers_lay_out_what_calls_out_and_is_imported(tmp_path):
    """A file that calls out and names no session or engine is not laid out by the scan
    (tasks._scan): the workers lay it out after the scan only if another file imports it
    (stages.Deferred), for the index; one nothing imports, or only test code where no
    rule fires, is never laid out. The
    findings are those of one process and of --no-screen."""
    import subprocess
    import sys

    from conftest import SERVER_PROJECT, write_tree

    files = {"app/__init__.py": "", "cli/__init__.py": "",
             "app/http.py": "import httpx\n\n\ndef notify(u):\n    return httpx.post(u)\n",
             "app/views.py": ("from sqlalchemy.orm import Session\nfrom app.http import notify\n\n\n"
                              "def view(session: Session):\n    session.execute('SELECT 1')\n    notify('u')\n"),
             "cli/tool.py": "import httpx\n\n\ndef run(u):\n    httpx.get(u)\n",
             # imported by test code alone, where no rule fires: not laid out either
             "tests/test_tool.py": "from cli.tool import run\n\n\ndef test_run():\n    run('u')\n"}
    files.update({f"app/part_{i}.py": f"VALUE = {i}\n" for i in range(60)})  # enough files for workers
    write_tree(tmp_path, files, SERVER_PROJECT)
    log = tmp_path / "layouts.log"
    script = ("import os\nfrom pool_lint import stages, tasks\n\n\n"
              "def logged(paths):\n"
              f"    with open({str(log)!r}, 'a') as handle:\n"
              "        handle.write(''.join(os.path.relpath(p) + '\\n' for p in paths))\n"
              "    return tasks._layout_chunk(paths)\n\n\n"
              "stages._layout_chunk = logged\n"
              "from pool_lint.cli import main\ntry:\n"
              "    main(['check', '--no-cache', '--jobs', '2', '--output-format', 'json', '.'])\n"
              "except SystemExit:\n    pass\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    assert log.read_text().split() == ["app/http.py"]
    found = sorted((f["filename"], f["code"]) for f in json.loads(done.stdout))
    assert found == [("app/views.py", "POL201")]
    assert findings(tmp_path, "--no-cache", "--jobs", "1") == findings(tmp_path, "--no-cache", "--no-screen") \
        == findings(tmp_path, "--no-cache", "--jobs", "2")


def test_a_run_that_keeps_its_objects_finds_the_same(project):
    """runner.run's `keep` (the command line's, which leaves with os._exit without
    freeing them): the run's large objects are kept there, and the results are the same."""
    from pool_lint.config import Settings
    from pool_lint.files import discover
    from pool_lint.runner import RunOptions, run

    project.write("app/db.py", "from sqlalchemy import create_engine\nengine = create_engine('postgresql://h/db')\n")
    for i in range(60):  # enough files for the worker processes
        project.write(f"app/m{i}.py", f"from sqlalchemy.orm import Session\nX{i} = 1\n")
    settings = Settings()
    targets, _ = discover([str(project.root)], settings)
    kept: list = []
    for jobs in (1, 2):
        freed = run(targets, settings, RunOptions(jobs=jobs, use_cache=False))
        held = run(targets, settings, RunOptions(jobs=jobs, use_cache=False), keep=kept)
        assert [f.to_dict() for f in held.findings] == [f.to_dict() for f in freed.findings]
        assert held.findings and kept


def test_a_run_answers_python_files_from_its_walk_and_forgets_it(tmp_path):
    """While a run lasts, python_files(root) answers from the root's walk (stages.Layout),
    in the main process and in the workers forked from it (an analysis asks for a root's
    files: Project.chain_tops), without listing the folders again; after the run, a
    file added since is seen again."""
    from conftest import write_tree
    from pool_lint.analysis import runtime
    from pool_lint.config import Settings
    from pool_lint.files import discover
    from pool_lint.tasks import RunOptions

    write_tree(tmp_path, {"app/__init__.py": "", "app/a.py": "x = 1\n"})
    seen = []
    real = runtime.entries_of

    def counted(folder, listing=None):
        seen.append(folder)
        return real(folder, listing)

    targets, _ = discover([str(tmp_path)], Settings())
    runtime.remember_walks({str(tmp_path): [str(tmp_path / "app/a.py")]})
    try:
        runtime.entries_of = counted
        assert runtime.python_files(tmp_path) == [str(tmp_path / "app/a.py")] and not seen
    finally:
        runtime.entries_of = real
    from pool_lint import runner

    runner.run(targets, Settings(), RunOptions(jobs=1, use_cache=False))
    assert runtime._WALKED == {}
    (tmp_path / "app/b.py").write_text("y = 2\n")
    assert str(tmp_path / "app/b.py") in runtime.python_files(tmp_path)


def test_a_module_laid_out_elsewhere_is_not_tokenized_again_where_it_is_loaded(tmp_path, monkeypatch):
    """The heads of a module that the scan (or the index) laid out and another file
    imports go to the processes that analyse (Workers.share_heads): an analysis that
    loads the module parses its skeleton from them (analysis/project.py, know_heads);
    bytes that changed since are tokenized afresh. The findings are those of
    --no-screen."""
    from conftest import SERVER_PROJECT, write_tree
    from pool_lint.analysis import project as project_module
    from pool_lint.analysis import source as source_module
    from pool_lint.analysis.statements import heads, layout, skeleton
    from pool_lint.analysis.text import digest
    from pool_lint.config import Settings
    from pool_lint.files import discover
    from pool_lint.runner import RunOptions, run

    db = ("from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n\n"
          "engine = create_async_engine('postgresql+asyncpg://h/db', pool_pre_ping=True, pool_recycle=1800)\n"
          "Maker = async_sessionmaker(engine)\n\n\nasync def get_db():\n    async with Maker() as session:\n"
          "        yield session\n\n\ndef helper():\n    return 1\n")
    route = ("import httpx\nfrom fastapi import Depends\nfrom app.db import get_db\n\n\n"
             "async def pay(db=Depends(get_db)):\n    await db.execute('SELECT 1')\n"
             "    async with httpx.AsyncClient() as client:\n        await client.post('https://x')\n")
    write_tree(tmp_path, {"app/__init__.py": "", "app/db.py": db, "app/routes.py": route}, SERVER_PROJECT)
    module = str(tmp_path / "app" / "db.py")
    given = {}

    def cut(text, keep=(), known=None):
        given.setdefault(text, []).append(known)
        return skeleton(text, keep, known)

    monkeypatch.setattr(source_module, "skeleton", cut)
    monkeypatch.setattr(project_module, "_HEADS", {})
    settings = Settings()
    targets, _ = discover([str(tmp_path)], settings)
    result = run(targets, settings, RunOptions(jobs=1, use_cache=False))
    assert project_module._HEADS[module] == (digest(db.encode()), heads(layout(db.encode())))
    assert [f.code for f in result.findings if f.filename.endswith("routes.py")] == ["POL201"]
    assert project_module.Project(str(tmp_path)).load(module) is not None
    assert given[db][-1] == heads(layout(db.encode()))  # loaded from the heads told
    project_module._HEADS[module] = (digest(b"other bytes"), project_module._HEADS[module][1])
    assert project_module.Project(str(tmp_path)).load(module) is not None
    assert given[db][-1] is None  # other bytes: tokenized afresh
    assert findings(tmp_path, "--no-cache", "--jobs", "2") == findings(tmp_path, "--no-cache", "--no-screen")
