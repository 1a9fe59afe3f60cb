"""Files written for a newer Python than the one running pool-lint (PEP 695, 696, 701,
750, 758): read through LibCST (pool_lint.analysis.downgrade), analysed with every rule
as under a Python that reads them, their names resolving for the rest of the project;
POL001 only for real syntax errors, naming the Python a construct needs when that is why.

The differential test runs the same project under this Python and under 3.12 and 3.13
(pyenv's, where present: through the Python API, which imports no third-party package on
the analysis path); PEP 758 and t-strings (3.14) are checked against the same project
written the 3.11 way, and LibCST's own positions."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from pool_lint import lint_source
from pool_lint.analysis import downgrade
from pool_lint.analysis.source import Source, SourceError

RUNNING = sys.version_info[:2]
needs_older = pytest.mark.skipif(RUNNING >= (3, 14), reason="this Python reads every construct itself")


def calls_at(text: str):
    """(row, 1-based character column) of every call `ast` finds in the text the
    analysis parses (through the downgrade when needed)."""
    source = Source.parse(text, "x.py")
    return sorted((n.lineno, source.column(n.lineno, n.col_offset) + 1) for n in ast.walk(source.tree)
                  if isinstance(n, ast.Call))


def libcst_calls(text: str, skip=()):
    """(row, 1-based column) of every call LibCST finds in the original text (the truth
    for constructs no Python here reads), less those on `skip` rows."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    positions = MetadataWrapper(cst.parse_module(text)).resolve(PositionProvider)
    return sorted((r.start.line, r.start.column + 1) for n, r in positions.items()
                  if isinstance(n, cst.Call) and r.start.line not in skip)


# -- each construct, by LibCST alone ----------------------------------------------------------
CONSTRUCTS = {
    "type statement": "type Url = str\ntype Pair[T] = tuple[T, T]\nx = f(1)\n",
    "type statement over lines": "type Pair[\n    T,\n\n    U: (int, str),\n] = dict[T, g(U)]\ny = h(2)\r\n",
    "type statement with its value in parentheses": "type E = (\n    A\n    | B\n)\nx = f()\n",
    "generic function": "def make[T: int, *Ts, **P](x: T) -> T:\n    return g(x)\n",
    "generic function over lines": "def make[\n    T: 'é',  # bound\n](x: T) -> T:\n    return g(x)\n",
    "generic class": "class Repo[T](Base, metaclass=M):\n    def get(self) -> T:\n        return load(self)\n"
                     "class Box[T]:\n    x = f()\n",
    "type parameter defaults": "def make[T = int](x: T = g()) -> T:\n    return h(x)\nclass C[T = str]: pass\n",
    "except without parentheses": "try:\n    f()\nexcept A, B:\n    g()\ntry:\n    f()\nexcept* C, D:\n    h()\n",
    "except without parentheses, body on its line": "try: f()\nexcept A, B: g(h())\n",
    "except without parentheses, a type in parentheses": "try: f()\nexcept (A), B: g()\n",
    "except without parentheses, no blank after the colon": "try: f()\nexcept A, B:g()\n",
    "f-string with its own quotes": 'x = f"{d["a"]} é {g(d["b"])} {h(x)!r:>{w(1)}}"\n',
    "f-string with a field in parentheses": 'x = f"{(d["a"], g())} {h()}"\n',
    "f-string with a backslash": "x = f\"{'\\n'.join(y)} {g(z)}\"\n",
    "f-string with a comment": 'x = f"""{\n    g(d["a"])  # é note\n} {h(1)}"""\ny = k()\n',
    "f-string over lines in one-line quotes": 'x = f"{\n    d\n}" "tail"\ny = k()\n',
    "f-strings nested in their own quotes": 'x = f"{f"{f"{y}"}"}" + g()\n',
    "t-string": 'x = t"hello {name!r} {g(d["a"])}"\ny = T"x" + Rt"{h()}"\n',
}
# Calls that a construct's rewrite does not keep: those inside a field that the running
# parser cannot read even after requoting (a backslash, a line break in a one-line
# f-string, an f-string nested in its own quotes); a call after `except A,B:` on its line,
# when no blank gives the parenthesis room, moves one column (test_what_a_construct_becomes).
LOST = {
    "f-string with a backslash": {(1, 8)},
    "f-string over lines in one-line quotes": set(),
    "f-strings nested in their own quotes": set(),
}


@needs_older
@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_a_construct_is_read_with_every_line_and_call_where_it_was(name):
    text = CONSTRUCTS[name]
    with pytest.raises(SyntaxError):
        ast.parse(text)
    new, needs = downgrade.downgrade(text)
    assert needs is None and new is not None
    assert new.count("\n") == text.count("\n") and new.count("\r") == text.count("\r")
    ast.parse(new)
    assert calls_at(text) == sorted(set(libcst_calls(text)) - LOST.get(name, set())), new


@needs_older
def test_what_a_construct_becomes():
    """The rewritten text: names bound as under 3.12 (a type alias binds its name, with
    no value the analysis reads), strings requoted where they can be, fields the
    running parser cannot read replaced by a name no module binds."""
    assert downgrade.downgrade("type X[T] = list[T]\n")[0] == "X,=         list[T]\n"
    assert downgrade.downgrade("def f[T](x): pass\n")[0] == "def f   (x): pass\n"
    assert downgrade.downgrade("try: pass\nexcept A, B: g()\n")[0] == "try: pass\nexcept(A, B):g()\n"
    assert downgrade.downgrade("try: pass\nexcept A, B:g()\n")[0] == "try: pass\nexcept(A,B):g()\n"
    # No blank to take: a call after the colon moves one column to the right.
    assert downgrade.downgrade("try: pass\nexcept A,B:g()\n")[0] == "try: pass\nexcept(A,B):g()\n"
    assert downgrade.downgrade('x = f"{d["a"]}"\n')[0] == "x = f\"{d['a']}\"\n"
    assert downgrade.downgrade("x = f\"{'\\n'.join(y)}\"\n")[0] == 'x = f"{____________}"\n'
    assert downgrade.downgrade('x = t"{a}"\n')[0] == 'x = f"{a}"\n'
    assert downgrade.downgrade('x = f"{\n  d\n}" "a"\n')[0] == "x = (_ \n   \n     )\n"


def test_a_real_syntax_error_is_reported_as_before():
    with pytest.raises(SourceError) as caught:
        Source.parse("def f(:\n    pass\ntype X = int\n", "x.py")
    version = "%d.%d" % RUNNING
    assert caught.value.message.startswith("syntax error: ") and f"(parsed as Python {version})" in caught.value.message
    assert (caught.value.row, caught.value.column) == (1, 7)


@needs_older
def test_a_construct_not_rewritten_names_the_python_it_needs(monkeypatch):
    monkeypatch.setattr(downgrade, "REWRITTEN", downgrade.REWRITTEN - {downgrade.EXCEPT_TUPLE})
    with pytest.raises(SourceError) as caught:
        Source.parse("import x\n\ntry:\n    pass\nexcept A, B:\n    pass\n", "x.py")
    assert caught.value.message == ("syntax error: needs Python 3.14 or newer (PEP 758 except without "
                                    "parentheses); pool-lint runs on Python %d.%d" % RUNNING)
    assert (caught.value.row, caught.value.column) == (5, 1)
    found = lint_source("try:\n    pass\nexcept A, B:\n    pass\n", path="app/x.py")
    assert [(f.code, f.row, f.column) for f in found] == [("POL001", 3, 1)]


def test_a_match_statement_under_python_39_names_python_310(monkeypatch):
    """What pool-lint does not rewrite, here a `match` statement (3.10) as Python 3.9
    would meet it (in a statement this Python rejects for another reason)."""
    monkeypatch.setattr(downgrade, "RUNNING", (3, 9))
    text = "import x\n\n\ndef f():\n    type X = int\n    match x:\n        case 1:\n            pass\n"
    new, needs = downgrade.downgrade(text)
    assert new is None and needs == ((3, 10), "PEP 634 match statement", 6, 5)
    with pytest.raises(SourceError) as caught:
        Source.parse(text, "x.py")
    assert "needs Python 3.10 or newer (PEP 634 match statement)" in caught.value.message
    assert (caught.value.row, caught.value.column) == (6, 5)


def test_pol001_stays_for_what_libcst_cannot_read_either():
    found = lint_source("type X = \n", path="app/x.py")
    assert [f.code for f in found] == ["POL001"] and "parsed as Python" in found[0].message


# -- the rules, and the project around -------------------------------------------------------
DB = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

type Url = str


def settings_url[T](default: T) -> Url:
    return f"postgresql://{CONFIG["host"]}/{CONFIG["name"]}"


engine = create_engine(f"postgresql://{CONFIG["host"]}/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


class Repository[T]:
    def __init__(self, session):
        self.session = session

    def get(self, key) -> T:
        return self.session.get(T, key)


def get_db[S]():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
'''
ROUTES = '''\
import httpx
from fastapi import Depends

from app.db import Repository, get_db

type Payload = dict[str, str]


def pay[T](item: T, db=Depends(get_db)):
    db.execute(f"select {item["id"]}")
    httpx.post(f"https://pay.example/{item["id"]}", json={"n": f"{'\\n'.join(["a"])}"})
    return item


async def report(db=Depends(get_db)):
    db.execute("select 1")
    await notify(f"{db!r:>{WIDTH}}")
    httpx.get(f"https://x/{"y"}")
'''
DEFAULTS = '''\
import httpx
from fastapi import Depends

from app.db import get_db


def refund[T = int](amount: T, db=Depends(get_db)):
    db.execute("select 1")
    httpx.post("https://pay.example/refund")
'''
PYPROJECT = "[project]\nname = 'demo'\n\n[tool.pool-lint]\nruntime = 'server'\n"

SCRIPT = '''\
import json, sys
from pathlib import Path
from pool_lint import lint_source
root = Path(sys.argv[1])
out = []
for path in sorted(root.rglob("*.py")):
    for f in lint_source(path.read_bytes(), path=path, fixes=False, settings={"runtime": "server"}):
        out.append([path.relative_to(root).as_posix(), f.code, f.row, f.column, f.message])
print(json.dumps(out))
'''


def write(root: Path, files) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    return root


def project_312(root: Path) -> Path:
    return write(root, {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "app/db.py": DB, "app/routes.py": ROUTES})


def findings_under(python: str, root: Path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([python, "-s", "-c", SCRIPT, str(root)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return [tuple(f) for f in json.loads(done.stdout)]


def findings_here(root: Path):
    out = []
    for path in sorted(root.rglob("*.py")):
        for f in lint_source(path.read_bytes(), path=path, fixes=False, settings={"runtime": "server"}):
            out.append((path.relative_to(root).as_posix(), f.code, f.row, f.column, f.message))
    return out


def test_a_newer_file_is_checked_with_every_rule_and_its_names_resolve(tmp_path):
    found = findings_here(project_312(tmp_path))
    assert not [f for f in found if f[1] == "POL001"], found
    held = [(f[0], f[2], f[3]) for f in found if f[1] == "POL201"]
    # The dependency is a generic function in a module with a type statement and PEP 701
    # f-strings; the external calls are in generic functions, with such f-strings.
    assert ("app/routes.py", 11, 5) in held and ("app/routes.py", 18, 5) in held, found
    assert {f[1] for f in found if f[0] == "app/db.py"} >= {"POL102", "POL105", "POL106", "POL107"}, found


def test_without_the_rewrite_the_file_is_unread(tmp_path, monkeypatch):
    """What the rewrite is for: the same project, with no construct rewritten."""
    monkeypatch.setattr(downgrade, "REWRITTEN", set())
    if RUNNING >= (3, 12):
        pytest.skip("this Python reads PEP 695 and 701 itself")
    found = findings_here(project_312(tmp_path))
    assert {f[1] for f in found} == {"POL001"}, found
    assert "needs Python 3.12 or newer (PEP 695 type statement)" in found[0][4]


INTERPRETERS = {version: Path.home() / ".pyenv" / "versions" / version / "bin" / "python"
                for version in ("3.12.1", "3.13.0")}


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(INTERPRETERS))
def test_the_same_findings_as_under_a_python_that_reads_the_file(version, tmp_path):
    python = INTERPRETERS[version]
    if not python.exists():
        pytest.skip(f"no Python {version} at {python}")
    root = project_312(tmp_path)
    if version >= "3.13":
        write(root, {"app/refund.py": DEFAULTS})
    theirs = findings_under(str(python), root)
    assert theirs == findings_here(root)
    assert len({f[1] for f in theirs}) >= 5 and not [f for f in theirs if f[1] == "POL001"], theirs


# -- Python 3.14 (PEP 758, 750): against the same project written the 3.11 way ----------------
DEPS_314 = '''\
from fastapi import Depends
from app.db import SessionLocal


def get_db():
    db = SessionLocal()
    try:
        yield db
    except ValueError, KeyError:
        db.rollback()
        raise
    finally:
        db.close()


def current_user(db=Depends(get_db)):
    try:
        user = db.get(User, 1)
    except* LookupError, TypeError:
        raise
    return user
'''
ROUTES_314 = '''\
import httpx
from fastapi import Depends

from app.deps import current_user, get_db


def pay(user=Depends(current_user), db=Depends(get_db)):
    db.execute(t"select {user.id}")
    httpx.post(t"https://pay.example/{user.id}")
    try:
        httpx.get("https://x")
    except OSError, ValueError: notify(db.get(User, 1))
'''
DB_311 = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine(URL)
SessionLocal = sessionmaker(bind=engine)
'''


def test_pep_758_and_t_strings_give_what_the_311_spelling_gives(tmp_path):
    files = {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "app/db.py": DB_311}
    new = findings_here(write(tmp_path / "new", dict(files, **{"app/deps.py": DEPS_314, "app/routes.py": ROUTES_314})))
    old_deps = DEPS_314.replace("except ValueError, KeyError:", "except(ValueError, KeyError):").replace(
        "except* LookupError, TypeError:", "except*(LookupError, TypeError):")
    old_routes = ROUTES_314.replace('t"', 'f"').replace("except OSError, ValueError: ", "except(OSError, ValueError):")
    old = findings_here(write(tmp_path / "old", dict(files, **{"app/deps.py": old_deps, "app/routes.py": old_routes})))
    assert new == old
    codes = {(f[0], f[1], f[2]) for f in new}
    assert ("app/routes.py", "POL201", 9) in codes and ("app/routes.py", "POL201", 11) in codes, new


# -- fixes, and what costs nothing ----------------------------------------------------------
def test_a_fix_in_a_newer_file_is_offered_and_applies(tmp_path):
    from pool_lint import fix_source

    text = "from sqlalchemy import create_engine\n\ntype Url = str\n\nengine = create_engine(URL)\n\n" \
           "try:\n    pass\nexcept A, B:\n    pass\n"
    found = lint_source(text, path="app/db.py")
    assert found and all(f.fix is not None for f in found if f.code == "POL101"), found
    fixed = fix_source(text, path="app/db.py")
    assert "pool_pre_ping=True" in fixed and "except A, B:" in fixed and "type Url = str" in fixed
    assert [line for n, line in enumerate(fixed.split("\n")) if n != 4] == \
        [line for n, line in enumerate(text.split("\n")) if n != 4]


def test_libcst_is_loaded_only_for_a_file_the_running_parser_rejects():
    """The analysis path imports LibCST for nothing else (findings without fixes)."""
    script = textwrap.dedent('''\
        import sys
        from pool_lint import lint_source
        lint_source("from sqlalchemy import create_engine\\nengine = create_engine(URL)\\n", path="app/db.py",
                    fixes=False)
        print("libcst" in sys.modules)
        lint_source("from sqlalchemy import create_engine\\ntype X = int\\nengine = create_engine(URL)\\n",
                    path="app/db.py", fixes=False)
        print("libcst" in sys.modules)
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    expected = ["False", "True" if RUNNING < (3, 12) else "False"]
    assert done.stdout.split() == expected, done.stdout + done.stderr


def test_the_screen_keeps_a_call_after_a_pep_701_string(tmp_path):
    """A tokenizer older than 3.12 cuts `f"{d["#"]} {httpx.get(u)}"` short (`#` then
    starts a comment): the screen takes the rest of the statement as code."""
    from conftest import run_cli

    routes = ('import httpx\nfrom fastapi import Depends\n\nfrom app.db import get_db\n\n\n'
              'def pay(d: dict, db=Depends(get_db)):\n    db.execute("select 1")\n'
              '    print(f"{d["#"]} {httpx.get(d)}")\n')
    db = DB_311 + "\n\ndef get_db():\n    with SessionLocal() as s:\n        yield s\n"
    root = write(tmp_path, {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "app/db.py": db,
                            "app/routes.py": routes})
    done = run_cli("check", "--no-cache", "--select", "POL201", ".", cwd=root)
    assert "app/routes.py:9:23: POL201" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("which", ["3.12", "3.14"])
def test_the_screen_finds_what_the_oracle_finds_in_newer_files(which, tmp_path):
    """The screen and the lazy parse (skeleton, stubs parsed on demand) against the
    oracle (every module parsed whole), in newer files and in several orders."""
    from test_screen_differential import assert_same_as_oracle

    if which == "3.12":
        root = project_312(tmp_path)
    else:
        root = write(tmp_path, {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "app/db.py": DB_311,
                                "app/deps.py": DEPS_314, "app/routes.py": ROUTES_314})
    found = assert_same_as_oracle(root)
    assert [f for f in found if "POL201" in f], found


# -- LibCST reads only what the running parser rejects -----------------------------------------
SHAPES = {
    "generic class, plain body": "class Repo[T](Base):\n    '''Doc.'''\n\n    x: int = 1\n\n    def get(self) -> T:\n"
                                 "        return load(self)\n",
    "generic class over lines, comments": "@dataclass(frozen=True)\n# between\nclass Repo[\n    T: (int, 'é'),  # bound\n]"
                                          "(\n    Base,\n):\n    # first\n    a = f(1)\n  # odd comment\n\n"
                                          "    @property\n    @cached\n    def b(self): return g()\n",
    "except deep in a method": "class Service:\n    def a(self):\n        return 1\n\n    async def b(self):\n"
                               "        for x in y:\n            try:\n                f(x)\n            except A, B:\n"
                               "                g()\n            except C:\n                pass\n            else:\n"
                               "                h()\n            finally:\n                k()\n        else:\n"
                               "            m()\n\n    def c(self):\n        return f\"{d[\"k\"]}\"\n",
    "clauses at the top": "try:\n    f()\n    g()\nexcept A, B:\n    h()\nelse:\n    def k[T](): pass\nfinally:\n"
                          "    m()\n",
    "elif header": "if a:\n    f(1, 2)\nelif f\"{d[\"x\"]}\":\n    g(3, 4)\n    h(t\"{y}\")\nelse:\n    k(5, 6)\n",
    "nested generics and type statements": "def outer():\n    type X = int\n    def inner[T](x: T) -> T:\n"
                                            "        return x\n    class Box[T]:\n        def get(self): return 1\n"
                                            "    return inner\n",
    "match inside": "def f[T](x):\n    match x:\n        case [a, b]:\n            g(f\"{d[\"a\"]}\")\n"
                    "        case _:\n            pass\n    return 1\n",
    "a body on its line": "class C[T]: x = f\"{d[\"a\"]}\"\ndef g[T](): return 1\n",
    "tabs and a form feed": "class C[T]:\n\tdef f(self):\n\t\ttry:\n\t\t\tpass\n\t\texcept A, B:\n\t\t\tpass\n\f\n"
                            "\tdef g(self):\n\t\treturn 2\n",
    "crlf": "class C[T]:\r\n    def f(self):\r\n        try:\r\n            pass\r\n        except A, B: g()\r\n"
            "\r\n    def h(self):\r\n        return 1\r\n",
    "strings over lines": "class C[T]:\n    doc = '''\ntext\n  at odd\nplaces'''\n    def f(self):\n"
                          "        return f\"\"\"{\n  d[\"a\"]\n}\"\"\"\n    def g(self): return (\n1)\n",
    "a line break in a one-line f-string": "class C[T]:\n    def f(self):\n        return f\"{\n            g(x)\n"
                                           "        }\"\n",
    "a real error inside": "class C[T]:\n    def f(self):\n        return )\n",
    "line breaks in one-line f-strings, twice": "def f(x):\n    a = 1\n    if x:\n        g(\n            f\"-{\n"
                                                "                h(x)\n            }\"\n        )\n    k(f\"{\n"
                                                "        x}\", 2)\n    return a\n\n\ndef m():\n    return 1\n",
    "a line break in a one-line f-string in a header": "def f(x):\n    if f\"{\n        x}\":\n        pass\n",
    "a line break in a one-line f-string first on its line": "def f(x):\n    y = 1\n    f\"{\n        x}\"\n"
                                                            "    return y\n",    "a string never closed": "class C[T]:\n    def f(self):\n        x = f\"{\n        return 1\n\n\ny = 2\n",
    "line breaks in one-line strings at the top": "x = f'{\n  a}'\ndef g[T](): pass\ny = t\"{\n  b!r}\" \"c\"\n"
                                                  "class C[T]:\n    def f(self): return 1\n    def h(self):\n"
                                                  "        return f\"{\n            d[\"k\"]}\"\n",
}


@needs_older
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_reading_only_the_rejected_parts_gives_what_reading_whole_statements_gives(name, monkeypatch):
    text = SHAPES[name]
    whole = downgrade._by_pieces(text, reduce=False)
    read = []
    real = downgrade._downgrade
    monkeypatch.setattr(downgrade, "_downgrade", lambda t: read.append(t) or real(t))
    monkeypatch.setattr(downgrade, "_MEMO", {})
    assert downgrade.downgrade(text) == whole
    if name not in READ_WHOLE:
        assert sum(map(len, read)) < len(text), read  # less than the statements, whole


# Nothing to leave out (bodies on their lines, one statement in each block), or no
# reading in part: a real error, a
# line break in a one-line f-string in a block's header (a 3.11 tokenizer rejects the
# text; for a simple statement, the layout is that of the text with a `pass` there).
READ_WHOLE = {"a body on its line", "a real error inside", "a line break in a one-line f-string in a header",
              "a string never closed",
              "a line break in a one-line f-string"}


@needs_older
def test_a_text_is_rewritten_once_per_process(monkeypatch):
    read = []
    real = downgrade._downgrade
    monkeypatch.setattr(downgrade, "_downgrade", lambda t: read.append(t) or real(t))
    monkeypatch.setattr(downgrade, "_MEMO", {})
    text = "import x\n\n\nclass C[T]:\n    def f(self):\n        return 1\n"
    first = Source.parse(text, "a.py").tree
    second = Source.parse(text, "b.py").tree
    assert len(read) == 1 and first is not second and ast.dump(first) == ast.dump(second)
    monkeypatch.setattr(downgrade, "REWRITTEN", downgrade.REWRITTEN - {downgrade.TYPE_PARAMETERS})
    with pytest.raises(SourceError):  # what decides the answer is part of what it is remembered by
        Source.parse(text, "c.py")
