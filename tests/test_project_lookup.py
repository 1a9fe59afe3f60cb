"""The shortcuts of the project index's module lookup give the answers of the slow ways
they replace (each slow way is written out here as the oracle)."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

from pool_lint.analysis import project as project_module
from pool_lint.analysis.project import Project, module_name


def write(root: Path, files: dict) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# -- a file found: one lstat where paths resolve by their links ------------------------------
def test_a_file_found_is_the_file_isfile_finds_resolved(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/db.py": "x = 1\n", "real/pkg/__init__.py": "",
                     "real/pkg/mod.py": "x = 1\n", "dir.py/__init__.py": "", "other.txt": ""})
    (tmp_path / "linked").symlink_to(tmp_path / "real")  # a linked folder
    (tmp_path / "app" / "alias.py").symlink_to(tmp_path / "app" / "db.py")  # a linked file
    (tmp_path / "app" / "broken.py").symlink_to(tmp_path / "app" / "missing.py")
    (tmp_path / "app" / "loop.py").symlink_to(tmp_path / "app" / "loop.py")
    (tmp_path / "app" / "todir.py").symlink_to(tmp_path / "real")  # a link to a folder
    (tmp_path / "app" / "text.py").symlink_to(tmp_path / "other.txt")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "app" / "fifo.py")
    project = Project(tmp_path)
    names = ["app/db.py", "app/alias.py", "app/broken.py", "app/loop.py", "app/todir.py", "app/text.py",
             "app/fifo.py", "app/none.py", "app/db.py/x.py", "dir.py", "dir.py/__init__.py", "linked/pkg/mod.py",
             "linked/pkg/__init__.py", "linked/pkg/none.py", "real/pkg/mod.py", "none/x.py", "other.txt/x.py"]
    for rel in names:
        candidate = str(tmp_path) + os.sep + rel.replace("/", os.sep)
        expected = Path(candidate).resolve() if os.path.isfile(candidate) else None
        assert project._file(candidate) == expected, rel
        assert project._file(candidate) == expected, rel  # memoised folders too
    linked = str(tmp_path / "linked" / "pkg" / "mod.py")
    assert project._file(linked) == (tmp_path / "real" / "pkg" / "mod.py").resolve()


def test_a_resolved_file_path_is_its_own_real_path(tmp_path):
    write(tmp_path, {"real/app.py": "x = 1\n"})
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    project = Project(tmp_path)
    for path in (tmp_path / "linked" / "app.py", tmp_path / "linked" / "gone.py", tmp_path / "linked" / ".." / "x.py",
                 str(tmp_path / "linked" / "app.py"), tmp_path / "real" / "app.py"):
        found = project.real_path(path)
        assert found == Path(path).resolve()
        assert project.real_path(found) == Path(found).resolve() == found


# -- a module's name, per folder ----------------------------------------------------------------
def _module_name_walk(path: Path):
    """module_name as one walk up from each file."""
    path = Path(path)
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    return ".".join(parts), is_package, folder


def test_module_names_per_folder_are_those_of_a_walk_per_file(tmp_path):
    write(tmp_path, {"__init__.py": "", "a/__init__.py": "", "a/b/__init__.py": "", "a/b/c.py": "", "a/b/d/e.py": "",
                     "a/b/d/__init__.py": "", "ns/x/__init__.py": "", "ns/x/y.py": "", "ns/z.py": "", "top.py": "",
                     "a/b/d/f/__init__.py": "", "a/b/d/f/g.py": "", "a/n/m.py": ""})
    project_module._package_chain.cache_clear()
    module_name.cache_clear()
    files = sorted(tmp_path.rglob("*.py"))
    for path in files + [tmp_path / "a" / "b" / "missing.py", tmp_path / "nowhere" / "k.py"]:
        assert module_name(path) == _module_name_walk(path), path


# -- finding a module: the chain tops' hits memoised per name ---------------------------------
def _find_module_slow(project: Project, dotted: str, near):
    """Project._find_module as one search per question: the folders of `near`, then
    every other chain top, each candidate checked with isfile and resolved."""
    def locate(base, parts):
        rel = base + os.sep + os.sep.join(parts)
        for candidate in (rel + ".py", rel + os.sep + "__init__.py"):
            if os.path.isfile(candidate):
                return Path(candidate).resolve()
        return None

    parts = [part for part in dotted.split(".") if part]
    if not parts:
        return "none"
    bases = project._search_bases(near)
    for base in bases:
        found = locate(base, parts)
        if found is not None:
            return found
    found_in = {found for found in (locate(top, parts) for top in project.chain_tops().get(parts[0], ())
                                    if top not in bases) if found is not None}
    if len(found_in) == 1:
        return found_in.pop()
    return "unknown" if found_in else "none"


def test_find_module_finds_what_a_search_per_question_finds(tmp_path):
    write(tmp_path, {
        "pyproject.toml": "", "services/api/app/__init__.py": "", "services/api/app/db.py": "x = 1\n",
        "services/api/app/models/__init__.py": "", "services/api/app/models/user.py": "x = 1\n",
        "services/api/app/main.py": "x = 1\n", "services/worker/app/__init__.py": "",
        "services/worker/app/db.py": "x = 1\n", "services/worker/app/jobs.py": "x = 1\n",
        "libs/money/money/__init__.py": "", "libs/money/money/core.py": "x = 1\n",
        "libs/money/money/sub/pkg/__init__.py": "", "libs/money/money/sub/pkg/x.py": "x = 1\n",
        "src/inside/__init__.py": "", "src/inside/z.py": "x = 1\n", "top/__init__.py": "", "top/t.py": "x = 1\n",
        "scripts/run.py": "x = 1\n", "pkg/__init__.py": "", "pkg/inner/__init__.py": "", "ns/loose.py": "x = 1\n",
        "services/api/app/broken.py": "def f(:\n",
    })
    project = Project(tmp_path)
    nears = [None, tmp_path / "services/api/app/main.py", tmp_path / "services/worker/app/jobs.py",
             tmp_path / "libs/money/money/core.py", tmp_path / "scripts/run.py", tmp_path / "top/t.py"]
    names = ["app", "money", "inside", "top", "pkg", "inner", "ns", "sub", "x", ""]
    rests = ["", "db", "jobs", "main", "models", "models.user", "core", "sub.pkg", "sub.pkg.x", "pkg.x", "z", "t",
             "inner", "loose", "nope", "broken", ".db", "db."]
    for (name, rest), near in itertools.product(itertools.product(names, rests), nears * 2):
        dotted = f"{name}.{rest}" if rest else name
        expected = _find_module_slow(project, dotted, near)
        module = project.find_module(dotted, near)
        broken = (dotted, project._bases.get(near)) in project._broken
        got = module.path if module is not None else "unknown" if broken else "none"
        if expected not in ("none", "unknown") and got == "unknown":
            got = expected if project._modules.get(expected, 0) is None else got  # found, but does not parse
        assert got == expected, (dotted, near)


def test_a_name_resolved_once_per_import_root_is_resolved_as_from_each_file(tmp_path):
    """Project._resolved_once memoises by the folders searched from a file: each answer,
    and the files it consulted (the cache's dependencies), are those of a project that
    resolves the name from that file alone."""
    write(tmp_path, {
        "pyproject.toml": "", "services/a/app/__init__.py": "",
        "services/a/app/db.py": "from sqlalchemy.orm import Session\nfrom app.helpers import make\n",
        "services/a/app/helpers.py": "def make():\n    pass\n", "services/a/app/sub/__init__.py": "",
        "services/a/app/sub/y.py": "x = 1\n", "services/a/app/x.py": "x = 1\n",
        "services/b/app/__init__.py": "", "services/b/app/db.py": "class Session:\n    pass\n",
        "services/b/app/x.py": "x = 1\n", "libs/kit/kit/__init__.py": "from kit.core import Session\n",
        "libs/kit/kit/core.py": "from app.db import Session\n", "run.py": "x = 1\n",
        "services/a/app/broken.py": "def f(:\n",
    })
    nears = [None, tmp_path / "run.py", tmp_path / "services/a/app/x.py", tmp_path / "services/a/app/sub/y.py",
             tmp_path / "services/b/app/x.py", tmp_path / "libs/kit/kit/core.py"]
    names = ["app.db.Session", "app.db.make", "app.helpers.make", "kit.Session", "kit.core.Session", "app.x.x",
             "app.broken.f", "app.nope", "sqlalchemy.orm.Session", "app", "app.sub.y.x", None, ""]
    shared = Project(tmp_path)
    for near, name in itertools.product(nears * 2, names):
        alone = Project(tmp_path)
        alone.begin_file()
        expected = (alone.canonical(name, near), alone.touched)
        shared.begin_file()
        assert (shared.canonical(name, near), shared.touched) == expected, (name, near)
    assert shared.canonical("app.db.Session", tmp_path / "services/a/app/x.py") == "sqlalchemy.orm.Session"
    assert shared.canonical("app.db.Session", tmp_path / "services/b/app/x.py") == "services.b.app.db.Session"


# -- the roots of a run's files: from the walk's listing, as from the system -----------------
def test_roots_from_the_listing_are_the_roots_the_system_gives(tmp_path):
    """files.roots_of_files reads the markers of a folder the walk listed from its
    entries (a marker listed still checked by os.path.exists) and whether a folder is a
    link from its parent's entry: the roots are those of root_of_file asking the system,
    with dangling and linked markers, a setup.py inside a package, a `.git` file, nested
    roots, a linked folder and folders the walk did not list."""
    from pool_lint.analysis.runtime import clear_cache
    from pool_lint.config import Settings
    from pool_lint.files import discover, root_of_file, roots_of_files

    top = tmp_path / "top"
    write(top, {"pyproject.toml": "", "a/b/c.py": "", "pkg/__init__.py": "", "pkg/setup.py": "", "pkg/m.py": "",
                "nested/setup.cfg": "", "nested/n.py": "", "nested/deep/d.py": "", "gitfile/.git": "",
                "gitfile/g.py": "", "dangling/x.py": "", "tolink/setup.py": "", "tolink/t.py": "",
                "inpkg/__init__.py": "", "inpkg/sub/setup.py": "", "inpkg/sub/s.py": "", "plain/p.py": ""})
    (top / "dangling" / "pyproject.toml").symlink_to(top / "missing.toml")
    (top / "linkedmarker").mkdir()
    (top / "linkedmarker" / "setup.cfg").symlink_to(top / "nested" / "setup.cfg")
    (top / "linkedmarker" / "l.py").write_text("")
    (top / "linked").symlink_to(top / "nested")
    outside = tmp_path / "outside"
    write(outside, {"o/o.py": ""})
    listing: dict = {}
    targets, _ = discover([str(top), str(outside / "o")], Settings(), listing=listing)
    paths = [t.absolute for t in targets] + [str(top / "linked" / "n.py"), str(top / "linked" / "deep" / "d.py"),
                                             str(tmp_path / "elsewhere" / "e.py")]
    assert len(targets) >= 12
    clear_cache()
    asked = [root_of_file(path) for path in paths]
    clear_cache()
    listed = roots_of_files(paths, listing)
    clear_cache()
    assert listed == asked
    assert {str(root) for root in asked} >= {str(top), str(top / "nested"), str(top / "gitfile"),
                                             str(top / "tolink"), str(top / "linkedmarker")}
    assert root_of_file(str(top / "dangling" / "x.py")) == top  # a dangling marker marks nothing
    assert root_of_file(str(top / "pkg" / "m.py")) == top  # setup.py inside a package
