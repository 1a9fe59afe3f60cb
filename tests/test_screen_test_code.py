"""Test code that nothing outside the tests imports is neither laid out by the scan nor
read by the project index (screen.Index._needed): no engine or session rule fires there
by default (SPEC 3, file roles), and what the index learns of a file flows only to the
files that import from it. A test module that code outside the tests does import
(directly or through other modules) is read all the same, and its session factory,
client or calling function still gives the finding of the file that uses it: the default
run, `--no-screen` and the oracle agree. Small projects of our own."""
from __future__ import annotations

import textwrap

import pytest

from conftest import SERVER_PROJECT, write_tree
from pool_lint.analysis.runtime import python_files
from pool_lint.screen import Index, file_facts
from test_screen_left_out import SHAPES, _agree

# Where the module that hands the name out stands in test code: (its file, its module name).
PLACES = {
    "tests-folder": ("tests/factories.py", "tests.factories"),
    "test-folder-package": ("app/test/support.py", "app.test.support"),
    "test-module-name": ("app/test_helpers.py", "app.test_helpers"),
    "conftest": ("app/conftest.py", "app.conftest"),
}

# A test module of the usual kind: it names a session and calls out, and nothing imports it.
LONE_TEST = '''
import httpx
from sqlalchemy.orm import Session


def test_view(session: Session):
    session.execute("SELECT 1")
    httpx.get("https://a.example.com")
'''


def _write(root, files, config=""):
    write_tree(root, {rel: textwrap.dedent(text) for rel, text in files.items()}, SERVER_PROJECT + config)


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_name_from_test_code_that_the_app_imports(tmp_path, shape, place):
    ext, _name, views = SHAPES[shape]
    where, module = PLACES[place]
    _write(tmp_path, {"app/__init__.py": "", "tests/__init__.py": "", where: ext, "tests/test_views.py": LONE_TEST,
                      "app/views.py": views.format(module=module)})
    found = _agree(tmp_path)
    assert [(rel, code) for rel, _, code in found] == [("app/views.py", "POL201")]


@pytest.mark.parametrize("package", ["tests", "lib"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_through_a_module_that_re_exports_it(tmp_path, shape, package):
    """The app takes the name from `{package}/api.py`, which takes it from
    `{package}/db.py` by name; `app/other.py` takes `{package}/api.py` whole and reaches
    the name as its attribute (`api.fetch()`): in test code and out of it (before, the
    index lost the attribute, and with it the POL201 of `app/other.py`)."""
    ext, name, views = SHAPES[shape]
    by_module = views.replace(f"from {{module}} import {name}\n", f"from {package} import api\n")
    by_module = by_module.replace(f"{name}.", f"api.{name}.").replace(f"{name}()", f"api.{name}()")
    _write(tmp_path, {"app/__init__.py": "", f"{package}/__init__.py": "", f"{package}/db.py": ext,
                      f"{package}/api.py": f"from {package}.db import {name}\n", "tests/test_views.py": LONE_TEST,
                      "app/views.py": views.format(module=f"{package}.api"), "app/other.py": by_module})
    found = [(rel, code) for rel, _, code in _agree(tmp_path)]
    assert ("app/views.py", "POL201") in found
    # (the analysis follows `api.client.get` and `api.db.session` no further than a
    # module's attribute)
    assert (("app/other.py", "POL201") in found) == (shape in ("sessionmaker", "calls-out"))


def _index(root, check_tests):
    read = []

    def reader(path):
        read.append(path[len(str(root)) + 1:])
        with open(path, "rb") as handle:
            return handle.read()

    paths = python_files(root, None, None)
    facts = {p: file_facts(open(p, "rb").read()) for p in paths}
    index = Index(facts, reader, root=str(root), check_tests=check_tests)
    chosen = {p[len(str(root)) + 1:] for p in index.select()}
    return index, chosen, set(read)


def test_what_the_index_reads_of_test_code(tmp_path):
    ext, _name, views = SHAPES["sessionmaker"]
    _write(tmp_path, {"app/__init__.py": "", "tests/__init__.py": "", "tests/factories.py": ext,
                      "tests/test_views.py": LONE_TEST, "tests/conftest.py": "from tests.factories import *\n",
                      "app/views.py": views.format(module="tests.factories")})
    index, chosen, read = _index(tmp_path, check_tests=False)
    assert index.needed == {str(tmp_path / p) for p in ("app/__init__.py", "app/views.py", "tests/factories.py")}
    assert "tests/factories.py" in read  # the app imports it
    assert not read & {"tests/test_views.py", "tests/conftest.py"}
    assert chosen == {"app/views.py"}
    # With `check-tests = true`, every file matters, and the test module is chosen.
    index, chosen, read = _index(tmp_path, check_tests=True)
    assert index.needed is None
    assert {"tests/test_views.py", "app/views.py"} <= read and {"app/views.py", "tests/test_views.py"} <= chosen


def test_check_tests_finds_what_the_test_module_does(tmp_path):
    _write(tmp_path, {"app/__init__.py": "", "tests/test_views.py": LONE_TEST}, "check-tests = true\n")
    assert [(rel, code) for rel, _, code in _agree(tmp_path)] == [("tests/test_views.py", "POL201")]
    _write(tmp_path, {"app/__init__.py": "", "tests/test_views.py": LONE_TEST})
    assert _agree(tmp_path) == []


def test_test_files_are_the_paths_is_test_code_says():
    from pool_lint.screen import is_test_code, test_files

    root = "/repo"
    paths = [f"{root}/{rel}" for rel in (
        "app/views.py", "app/test_views.py", "app/views_test.py", "app/conftest.py", "tests/helpers.py",
        "tests/unit/deep/module.py", "app/test/x.py", "app/testing/x.py", "app/tests_old/x.py", "test_top.py",
        "app/Test_case.py", "app/contest.py", "app/tests.py", "src/pkg/tests/__init__.py", "src/pkg/mod.py")]
    paths.append("/elsewhere/tests/x.py")  # (outside the root: not its test code)
    assert test_files(paths, root) == {p for p in paths if is_test_code(p, root)}
    assert test_files(paths, root) == {f"{root}/{rel}" for rel in (
        "app/test_views.py", "app/views_test.py", "app/conftest.py", "tests/helpers.py", "tests/unit/deep/module.py",
        "app/test/x.py", "test_top.py", "src/pkg/tests/__init__.py")}


def test_the_scan_reads_only_the_imports_of_test_code_and_the_index_reads_the_rest_where_it_matters(tmp_path):
    """tasks._scan looks for no word of a test file where no rule fires (screen.UNREAD):
    its imports are read (runtime evidence may stand in a test) and FLASK, nothing else.
    The index reads again, in full, those that code outside the tests imports from
    (Index._read_again): their session factory then counts as any other's."""
    from pool_lint.config import Settings
    from pool_lint.screen import ENGINE, FLASK, SESSION, UNREAD, facts_and_tops
    from pool_lint.tasks import RunOptions, _init_worker, _scan, share_tops

    factory = "from flask_sqlalchemy import SQLAlchemy\nfrom sqlalchemy.orm import sessionmaker\n" \
              "SessionLocal = sessionmaker()\n"
    full, _ = facts_and_tops(factory.encode())
    unread, tops = facts_and_tops(factory.encode(), words=False)
    assert full[0] & SESSION and not full[0] & UNREAD
    assert unread[0] == UNREAD | FLASK and unread[1] == full[1] and tops == {"flask_sqlalchemy", "sqlalchemy"}
    _write(tmp_path, {"app/__init__.py": "", "tests/__init__.py": "", "tests/factories.py": factory,
                      "tests/test_views.py": LONE_TEST, "app/views.py": "from tests.factories import SessionLocal\n",
                      "app/db.py": "from sqlalchemy import create_engine\nengine = create_engine('postgresql://h/d')\n"})
    root = str(tmp_path)
    files = python_files(root)
    _init_worker(Settings(), RunOptions())
    share_tops({})
    scans = {path: _scan((path, path[len(root) + 1:], root)) for path in files}
    rel = {path[len(root) + 1:]: scan.facts for path, scan in scans.items()}
    assert rel["tests/factories.py"][0] & UNREAD and rel["tests/test_views.py"][0] & UNREAD
    assert rel["app/db.py"][0] & ENGINE and not rel["app/db.py"][0] & UNREAD
    index = Index({path: scan.facts for path, scan in scans.items()}, lambda path: open(path, "rb").read(),
                  root=root, check_tests=False)
    factories = str(tmp_path / "tests" / "factories.py")
    assert factories in index.needed and index.bits[factories] & SESSION and not index.bits[factories] & UNREAD
    assert index.facts[str(tmp_path / "tests" / "test_views.py")][0] & UNREAD  # (nothing imports it)


# A module bound by name in another module, taken from there (`from lib.factories import
# base`): the importer reaches the module's attributes. (Lost by the screen before
# Index._module_reexports: `--no-screen` found the POL203.)
REBOUND = {
    "by name": ("from lib import base\n", "from lib.factories import base\n"),
    "renamed": ("from lib import base as b\n", "from lib.factories import b as base\n"),
    # (The analysis itself does not follow a module bound by a star import yet: no
    # finding, with the screen or without; the screen keeps the file all the same.)
    "by star": ("from lib import base\n", "from lib.factories import *\n"),
    "through two": ("from lib import base\n", "from lib.again import base\n"),
}


@pytest.mark.parametrize("how", sorted(REBOUND))
def test_a_module_bound_in_another_module_and_taken_from_there(tmp_path, how):
    binds, takes = REBOUND[how]
    _write(tmp_path, {"app/__init__.py": "", "lib/__init__.py": "",
                      "lib/base.py": "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n",
                      "lib/factories.py": binds, "lib/again.py": "from lib.factories import base\n",
                      "app/service.py": takes + "\n\ndef run():\n    s = base.SessionLocal()\n    s.execute('SELECT 1')\n"})
    found = _agree(tmp_path)
    assert [(rel, code) for rel, _, code in found] == ([] if how == "by star" else [("app/service.py", "POL203")])
