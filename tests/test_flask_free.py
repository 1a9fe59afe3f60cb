"""Flask-SQLAlchemy's `db.session` asked without resolving a name (plan.Plan.flask): where
no module that the analysis of a file can load names flask_sqlalchemy (stages.flask_free,
from the scan's FLASK bit and a look at what the root's walk leaves out), no name is an
instance, and analysis.flask.FlaskSessions says so at once. The shortcut must give the
answer of the slow path on every input: each shape below is checked by the default run
(the screen, whose plans carry the fact) and by the oracle (no screen, no plans: every
name resolved), and the fact itself is the one the shape makes it. Small projects of our
own."""
from __future__ import annotations

import json
import os
import textwrap
from types import SimpleNamespace

import pytest

from conftest import SERVER_PROJECT, run_cli, write_tree
from pool_lint.analysis.runtime import python_files
from pool_lint.oracle import check_tree
from pool_lint.plan import EVERYTHING, NOTHING, Plan
from pool_lint.screen import FLASK, file_facts, names_flask_sqlalchemy
from pool_lint.stages import flask_free

# A function the screen keeps for its own sessions (and its call out); whether `db` is a
# Flask-SQLAlchemy instance decides whether `db.session` holds a connection at the call.
# `get_session` is followed into its module (a view of another module of the project).
VIEWS = '''
import requests
from app.db import SessionLocal, get_session
from {module} import db

def view():
    with SessionLocal() as session:
        session.execute(SELECT)
    other = get_session()
    other.close()
    db.session.execute(SELECT)
    requests.get("https://a.example.com", timeout=3)
'''
DB = "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n\n\ndef get_session():\n" \
     "    return SessionLocal()\n"
EXT = "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n"


def _tree(root, files):
    files = {"app/db.py": DB, **files}
    write_tree(root, {rel: text if isinstance(text, bytes) else textwrap.dedent(text) for rel, text in files.items()},
               SERVER_PROJECT)


def _fact(root) -> bool:
    """stages.flask_free of the root, from the scan's facts of its files."""
    left_out: list = []
    paths = python_files(root, None, left_out)
    scans = {p: SimpleNamespace(facts=file_facts(open(p, "rb").read())) for p in paths}
    return flask_free(str(root), paths, scans, left_out)


def _agree(root, free=None):
    """The default run's findings (with the fact in the plans), which must be those of
    the same run without it (every plan says "not known") and the oracle's. `free`: the
    fact, for which the default run resolves no name for Flask-SQLAlchemy (analysis.flask.
    is_db, in the checked file or in the view of another module) where it is true."""
    import pool_lint.analysis.flask as flask
    import pool_lint.stages as stages

    asked, is_db = [], flask.is_db
    flask.is_db = lambda module, expr: asked.append(module.name) or is_db(module, expr)
    try:
        found = check_tree(root)
        if free is not None:
            assert (not asked) is free, asked
        free_of, stages.flask_free = stages.flask_free, lambda *args, **kwargs: False
        try:
            asked.clear()
            assert check_tree(root) == found
            assert asked  # the same run without the fact asks
        finally:
            stages.flask_free = free_of
    finally:
        flask.is_db = is_db
    assert check_tree(root, oracle=True) == found
    return [(os.path.basename(f[0]), f[1], f[3]) for f in found]


HELD = [("views.py", 12, "POL201")]  # db.session holds its connection across the call
IDLE = [("views.py", 12, "POL202")]  # no db.session: only `other`, given back before the call


@pytest.mark.parametrize("files, free, expected", [
    pytest.param({"app/__init__.py": "", "app/ext.py": "db = make_db()\n"}, True, IDLE, id="no-flask"),
    pytest.param({"app/__init__.py": "", "app/ext.py": EXT}, False, HELD, id="flask"),
    pytest.param({"app/__init__.py": "", "app/extensions.py": "from flask_sqlalchemy import SQLAlchemy\n",
                  "app/ext.py": "from app.extensions import SQLAlchemy as Alchemy\n\ndb = Alchemy()\n"},
                 False, HELD, id="re-exported"),
    pytest.param({"app/__init__.py": "", "app/ext.py": "import flask_sqlalchemy as fsa\n\ndb = fsa.SQLAlchemy()\n"},
                 False, HELD, id="module-alias"),
    pytest.param({"app/__init__.py": "", "app/base.py": "from flask_sqlalchemy import SQLAlchemy\n\n\n"
                                                          "class Alchemy(SQLAlchemy):\n    pass\n",
                  "app/ext.py": "from app.base import Alchemy\n\ndb = Alchemy()\n"}, False, IDLE, id="subclass"),
    pytest.param({"app/__init__.py": "", "app/ext.py": EXT.replace("from f", "from ｆ")},
                 False, HELD, id="nfkc-identifier"),
    pytest.param({"app/__init__.py": "", "app/ext.py": b"# coding: utf-7\nfrom +AGY-lask_sqlalchemy import SQLAlchemy"
                                                       b"\n\ndb = SQLAlchemy()\n"}, False, HELD, id="utf-7-cookie"),
    # Configuration excludes leave a file unchecked, not out of the walk (or its scan).
    pytest.param({"app/__init__.py": "", "legacy/ext.py": EXT, "pyproject.toml": SERVER_PROJECT
                  + "extend-exclude = [\"legacy\"]\n"}, False, HELD, id="excluded-by-configuration"),
    # A package of the project named flask_sqlalchemy: its names are the library's, and
    # no text names it (its module names do, from its path).
    pytest.param({"flask_sqlalchemy/__init__.py": "from .extension import SQLAlchemy\n",
                  "flask_sqlalchemy/extension.py": "class SQLAlchemy:\n    pass\n",
                  "flask_sqlalchemy/ext.py": "from . import extension\n\ndb = extension.SQLAlchemy()\n"},
                 False, HELD, id="named-by-its-path"),
])
def test_the_default_run_agrees_with_the_oracle(tmp_path, files, free, expected):
    if "flask_sqlalchemy/ext.py" in files:  # the views of that package, by a relative import
        files = {**files, "flask_sqlalchemy/views.py": VIEWS.format(module=".ext")}
    elif "legacy/ext.py" in files:
        files = {**files, "app/views.py": VIEWS.format(module="legacy.ext")}
    else:
        files = {**files, "app/views.py": VIEWS.format(module="app.ext")}
    _tree(tmp_path, files)
    assert _fact(tmp_path) is free
    assert _agree(tmp_path, free) == expected


@pytest.mark.parametrize("where, module, free, expected", [
    # Left out by the walk, but an import reaches it: its words count.
    ("build/ext.py", "build.ext", False, HELD),  # a DEFAULT_EXCLUDES folder
    ("venv/ext.py", "venv.ext", False, HELD),
    ("services/billing/ext.py", "services.billing.ext", False, HELD),  # another project's root (below)
    # Left out and out of reach: no import names a folder whose name holds a dot.
    (".hidden/ext.py", "hidden.ext", True, IDLE),
    ("venv/lib/python3.11/site-packages/ext.py", "ext", True, IDLE),
])
def test_files_the_walk_leaves_out(tmp_path, where, module, free, expected):
    _tree(tmp_path, {"app/__init__.py": "", where: EXT, "app/views.py": VIEWS.format(module=module)})
    if where.startswith("services/"):
        (tmp_path / "services/billing/pyproject.toml").write_text("[project]\nname = 'billing'\n")
    assert _fact(tmp_path) is free
    assert _agree(tmp_path, free) == expected


def test_links_and_unlisted_folders_make_it_unknown(tmp_path):
    _tree(tmp_path, {"app/__init__.py": "", "app/views.py": VIEWS.format(module="shared.ext"), ".store/ext.py": EXT})
    assert _fact(tmp_path) is True
    assert _agree(tmp_path, True) == IDLE
    (tmp_path / ".shared").symlink_to(tmp_path / ".store")  # a name no import can spell
    assert _fact(tmp_path) is True
    (tmp_path / "shared").symlink_to(tmp_path / ".store")
    assert _fact(tmp_path) is False  # shared/ext.py is .store/ext.py, a module of the root
    assert _agree(tmp_path, False) == IDLE  # (named `ext` by its path, `ext.db` is no instance)
    (tmp_path / "shared").unlink()
    (tmp_path / "build" / "more").mkdir(parents=True, mode=0)
    try:
        if os.access(tmp_path / "build" / "more", os.R_OK):
            pytest.skip("running as a user who reads any folder")
        assert _fact(tmp_path) is False
    finally:
        (tmp_path / "build" / "more").chmod(0o755)


def test_a_root_with_init_counts_the_folders_above_it(tmp_path):
    """Module names climb above a root that is a package: the words of its path count
    (all of them: over-selecting)."""
    root = tmp_path / "flask_sqlalchemy" / "app"
    _tree(root, {"views.py": "x = 1\n"})
    assert _fact(root) is True
    (root / "__init__.py").write_text("")
    assert _fact(root) is False


def test_no_screen_keeps_the_slow_path(tmp_path):
    """Without the screen (and in the oracle, the Python API, --fix) a plan is
    EVERYTHING: the fact is not known, every name is resolved."""
    assert EVERYTHING.flask and NOTHING.flask and Plan().flask
    _tree(tmp_path, {"app/__init__.py": "", "build/ext.py": EXT, "app/views.py": VIEWS.format(module="build.ext")})
    result = run_cli("check", "--no-screen", "--no-cache", "--output-format", "json", "--extend-select", "POL202",
                     ".", cwd=tmp_path, timeout=60)
    assert [(f["filename"], f["location"]["row"], f["code"]) for f in json.loads(result.stdout)] == \
        [("app/views.py", 12, "POL201")]


def _cached(root):
    result = run_cli("check", "--output-format", "json", ".", cwd=root, timeout=60)
    assert "Traceback" not in result.stderr
    return sorted((f["filename"], f["location"]["row"], f["code"]) for f in json.loads(result.stdout))


@pytest.mark.parametrize("where", ["app/ext.py", "build/ext.py"])
def test_a_warm_run_sees_flask_sqlalchemy_come_in(tmp_path, where):
    """A result made with the fact holds only for its plan: a file that starts to import
    flask_sqlalchemy (one of the walk's, or one it leaves out that an import reaches)
    changes every plan of the root, and the unchanged views are checked again."""
    module = where[:-3].replace("/", ".")
    _tree(tmp_path, {"app/__init__.py": "", where: "db = make_db()\n", "app/views.py": VIEWS.format(module=module)})
    assert _cached(tmp_path) == []
    (tmp_path / where).write_text(EXT)
    assert _cached(tmp_path) == [("app/views.py", 12, "POL201")]
    (tmp_path / where).write_text("db = make_db()\n")
    assert _cached(tmp_path) == []


def test_the_bytes_check_reads_as_python_does():
    assert names_flask_sqlalchemy(b"import flask_sqlalchemy\n")
    assert not names_flask_sqlalchemy(b"import flask\nimport sqlalchemy\n")
    assert names_flask_sqlalchemy("import ｆlask_sqlalchemy\n".encode())  # NFKC: the same name
    assert names_flask_sqlalchemy("from ﬂask_sqlalchemy import SQLAlchemy\n".encode())  # the fl ligature
    assert not names_flask_sqlalchemy("x = 'é'\nimport flask\n".encode())
    assert not names_flask_sqlalchemy(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
    assert names_flask_sqlalchemy(b"# coding: utf-7\nimport +AGY-lask_sqlalchemy\n")
    assert not names_flask_sqlalchemy(b"x = 1\ny = 2\n# coding: utf-7\n+AGY-lask_sqlalchemy\n")  # no cookie there
    assert not names_flask_sqlalchemy("ｘ = 'ﬂ'\nimport flask\n".encode())  # NFKD read, no such word
    assert names_flask_sqlalchemy(b"# coding: ascii\nx = '\xe9'\n")  # does not decode: counted
    assert file_facts(b"import flask_sqlalchemy\n").bits & FLASK
    assert not file_facts(b"from sqlalchemy import create_engine\n").bits & FLASK


def test_a_plan_carries_the_fact_as_plain_data():
    plan = Plan(False, False, ((3, 9),), (), (), False)
    plain = plan.to_plain()
    assert plain[-1] == 0 and Plan.from_plain(json.loads(json.dumps(plain)), exact=True) == plan
    assert Plan.from_plain(EVERYTHING.to_plain(), exact=True).flask
    with pytest.raises(ValueError):
        Plan.from_plain(plain[:5])
    with pytest.raises(ValueError):
        Plan.from_plain(plain[:5] + [2])
    assert plan.parsed_whole() == [(3, 9)]
