"""The screen never loses a finding to what the root's walk leaves out (issue 13). The
project index knows only the files of the walk (runtime.python_files: no `build/`,
`venv/`, another project's root...), but the analysis loads a module from disk wherever an
import finds it: a name imported from such a module may be anything (screen.Index.
_left_out), so the functions that use it stay candidates. Each shape: the default run
(the screen), `--no-screen` and the oracle agree, and find the POL201. Small projects of
our own."""
from __future__ import annotations

import json
import textwrap

import pytest

from conftest import SERVER_PROJECT, run_cli, write_tree
from pool_lint.analysis.runtime import python_files
from pool_lint.oracle import check_tree
from pool_lint.screen import ALL_RANGES, Index, file_facts, left_out_keys

# What a module the walk leaves out hands out, and a view that uses it with a call out.
SHAPES = {
    "flask-db": ("from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n", "db", '''
        import requests
        from {module} import db


        def view():
            db.session.execute("SELECT 1")
            requests.get("https://a.example.com", timeout=3)
        '''),
    "sessionmaker": ("from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n", "SessionLocal", '''
        import requests
        from {module} import SessionLocal


        def view():
            with SessionLocal() as session:
                session.execute("SELECT 1")
                requests.get("https://a.example.com", timeout=3)
        '''),
    "client": ("import httpx\n\nclient = httpx.Client()\n", "client", '''
        from sqlalchemy.orm import Session
        from {module} import client


        def view(session: Session):
            session.execute("SELECT 1")
            client.get("https://a.example.com")
        '''),
    "calls-out": ("import requests\n\n\ndef fetch():\n    return requests.get('https://a.example.com', timeout=3)\n",
                  "fetch", '''
        from sqlalchemy.orm import Session
        from {module} import fetch


        def view(session: Session):
            session.execute("SELECT 1")
            fetch()
        '''),
}
# Where the module stands: (its file, its module name, what the project's configuration adds).
PLACES = {
    "build": ("build/ext.py", "build.ext", ""),  # a DEFAULT_EXCLUDES folder
    "extend-exclude": ("legacy/ext.py", "legacy.ext", 'extend-exclude = ["legacy"]\n'),
    "nested-root": ("services/billing/ext.py", "services.billing.ext", ""),  # another project's root
    "package-build": ("app/build/ext.py", ".build.ext", ""),  # below a package, by a relative import
}


def _write(root, files, config=""):
    write_tree(root, {rel: textwrap.dedent(text) for rel, text in files.items()}, SERVER_PROJECT + config)
    if any(rel.startswith("services/billing/") for rel in files):
        (root / "services/billing/pyproject.toml").write_text("[project]\nname = 'billing'\n")


def _cli(root, *args):
    result = run_cli("check", "--no-cache", "--output-format", "json", *args, ".", cwd=root, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return sorted((f["filename"], f["location"]["row"], f["code"]) for f in json.loads(result.stdout))


def _agree(root):
    """The default run's findings, which must be the oracle's and `--no-screen`'s."""
    found = check_tree(root)
    assert check_tree(root, oracle=True) == found
    assert _cli(root) == _cli(root, "--no-screen") == sorted((f[0][len(str(root)) + 1:], f[1], f[3])
                                                            for f in found if f[3] != "POL202")
    return [(f[0][len(str(root)) + 1:], f[1], f[3]) for f in found]


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_name_from_a_module_the_walk_leaves_out(tmp_path, shape, place):
    ext, _name, views = SHAPES[shape]
    where, module, config = PLACES[place]
    _write(tmp_path, {"app/__init__.py": "", where: ext, "app/views.py": views.format(module=module)}, config)
    found = _agree(tmp_path)
    assert [(rel, code) for rel, _, code in found] == [("app/views.py", "POL201")]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_re_exported_by_a_module_of_the_walk(tmp_path, shape):
    """`app/deps.py` takes the name from `build/ext.py`; the views take it from
    `app/deps.py`, by name or as an attribute of the module."""
    ext, name, views = SHAPES[shape]
    by_module = views.replace(f"from {{module}} import {name}\n", "from app import deps\n")
    by_module = by_module.replace(f"{name}.", f"deps.{name}.").replace(f"{name}()", f"deps.{name}()")
    _write(tmp_path, {"app/__init__.py": "", "build/ext.py": ext, "app/deps.py": f"from build.ext import {name}\n",
                      "app/views.py": views.format(module="app.deps"), "app/other.py": by_module})
    found = _agree(tmp_path)  # (the analysis follows `deps.client.get` no further than a module's attribute)
    assert ("app/views.py", "POL201") in [(rel, code) for rel, _, code in found]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_star_import_of_such_a_module(tmp_path, shape):
    """A star import binds what the module holds; a star import of a module of the walk
    that holds one binds it too: the index keeps every line of such a file, and what
    another file takes from it counts as anything."""
    ext, name, views = SHAPES[shape]
    _write(tmp_path, {"app/__init__.py": "", "build/ext.py": ext, "app/deps.py": "from build.ext import *\n",
                      "app/views.py": views.replace(f" import {name}\n", " import *\n").format(module="build.ext"),
                      "app/other.py": views.format(module="app.deps")})
    assert _agree(tmp_path) == []  # (the analysis resolves no name through a star import)
    left_out: list = []
    python_files(tmp_path, None, left_out)
    index, plans = _index(tmp_path, left_out)
    assert index.wild == {str(tmp_path / "app/views.py"), str(tmp_path / "app/deps.py")}
    assert index.unknown == {str(tmp_path / "app/other.py"): {name}}
    assert plans[str(tmp_path / "app/views.py")].external == ALL_RANGES


def test_more_rules_through_such_a_module(tmp_path):
    """A session made and never closed (POL203), and an engine factory and gather under
    other names: the default run is the oracle's (it found no POL203 before)."""
    _write(tmp_path, {"app/__init__.py": "", "build/ext.py": textwrap.dedent('''
        from asyncio import gather as run_all
        from sqlalchemy import create_engine as make
        from sqlalchemy.ext.asyncio import async_sessionmaker

        Factory = async_sessionmaker()
        '''), "app/views.py": '''
        from build.ext import Factory, make, run_all

        engine = make("postgresql://db.example.com/app")


        async def view(a, b):
            session = Factory()
            await session.execute("SELECT 1")
            await run_all(a(session), b(session))
        '''})
    assert _agree(tmp_path) == [("app/views.py", 8, "POL203")]


def _index(root, left_out):
    paths = python_files(root, None, [] if left_out else None)
    facts = {p: file_facts(open(p, "rb").read()) for p in paths}
    index = Index(facts, lambda p: open(p, "rb").read(), root=str(root), left_out=left_out)
    index.select()
    return index, {p: index.plan(p) for p in index.select()}


def test_nothing_changes_where_the_import_names_a_library(tmp_path):
    """With `build/` left out, imports of libraries (`httpx`, a `build` module of a
    library) and of the walk's own modules carry nothing more: the plans are those made
    without knowing what was left out."""
    _write(tmp_path, {"app/__init__.py": "", "build/ext.py": "x = 1\n", "app/views.py": '''
        from httpx import Client
        from setuptools.command.build import build
        from app.db import SessionLocal
        import requests


        def view():
            with SessionLocal() as session:
                session.execute("SELECT 1")
                requests.get("https://a.example.com", timeout=3)


        def other():
            Client().get("https://a.example.com")
            build()
        ''', "app/db.py": "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"})
    left_out: list = []
    python_files(tmp_path, None, left_out)
    assert str(tmp_path / "build") in left_out_keys(str(tmp_path), left_out)
    with_left_out, plans = _index(tmp_path, left_out)
    assert not with_left_out.unknown and not with_left_out.wild
    assert plans == _index(tmp_path, None)[1]


def test_left_out_keys_are_what_an_import_can_spell(tmp_path):
    root = str(tmp_path)
    keys = left_out_keys(root, [f"{root}/build", f"{root}/.git", f"{root}/venv/lib/python3.11", f"{root}/link.py",
                                f"{root}/my.pkg.py", root])
    assert keys == {f"{root}/build", f"{root}/link"}
    assert left_out_keys(root, None) == left_out_keys(root, []) == frozenset()


def test_a_warm_run_sees_the_module_come_in(tmp_path):
    """The root's index is cached with what the walk left out: `build/ext.py` made after
    a run (no file of the walk changed) changes the plans, and the views are checked
    again."""
    ext, _name, views = SHAPES["sessionmaker"]
    _write(tmp_path, {"app/__init__.py": "", "app/views.py": views.format(module="build.ext")})

    def warm():
        result = run_cli("check", "--output-format", "json", ".", cwd=tmp_path, timeout=60)
        assert "Traceback" not in result.stderr, result.stderr
        return [(f["filename"], f["code"]) for f in json.loads(result.stdout)]

    assert warm() == []
    (tmp_path / "build").mkdir()
    (tmp_path / "build/ext.py").write_text(ext)
    assert warm() == [("app/views.py", "POL201")]
