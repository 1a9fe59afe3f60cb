"""The screen reads import statements and statements from what Python's own tokenizer
says of a file's bytes: it must find every import Python's own parser finds (a missed
import could hold back a file that can hold a finding), and split a module where the
parser does."""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

from pool_lint.analysis.statements import import_statements, layout, members_of

HERE = Path(__file__).resolve().parents[1]
SHARED = HERE.parent / "shared"


def imports_by_ast(data: bytes) -> set:
    found = set()
    for node in ast.walk(ast.parse(data)):
        if isinstance(node, ast.Import):
            found |= {(False, a.name, a.name, a.asname) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found |= {(True, module, a.name, a.asname) for a in node.names}
    return found


def imports_by_screen(data: bytes) -> set:
    return {(is_from, module, name, alias) for is_from, module, names in import_statements(data)
            for name, alias in names}


FORMS = {
    "plain": b"import a\nimport b.c as d, e\n",
    "from": b"from f import g, h as i\nfrom . import j\nfrom ..k import l\n",
    "after a colon": b"try: import uvicorn\nexcept ImportError: uvicorn = None\nif x: from m import n\n",
    "after a semicolon": b"x = 1; import o; from p import q\n",
    "indented": b"def f():\n    import r\n    if y:\n        from s import t\n",
    "parenthesized": b"from u import (\n    v,\n    w as x,\n)\n",
    "comment after the paren": b"from y import (  # noqa: F401 (patch target)\n    z,\n    zz,\n)\n",
    "backslash": b"from aa \\\n    import bb\nimport cc, \\\n    dd\n",
    "crlf": b"import ee\r\nfrom ff import (gg,\r\n    hh)\r\n",
    "a bracket in a comment of the list": b"from ii import (  # see jj()\n    kk,  # (ll)\n    mm,\n)\n",
    "after a string that ends on a later line": b'x = """\n"""; import nn\n',
    "form feed": b"\x0cimport oo\n\x0cfrom pp import qq\n",
    "spaced dots": b"from . rr import ss\nfrom .. import tt\n",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_of_import_is_found(form):
    data = FORMS[form]
    assert imports_by_ast(data) <= imports_by_screen(data)


def own_files():
    roots = [HERE / "pool_lint", HERE / "tests", HERE / "benchmarks", SHARED / "cases", SHARED / "fix_cases"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.py"))


def test_a_line_read_once_reads_the_same():
    """import_groups with a conversion remembered per line (what facts_and_tops asks)
    gives what the plain reading gives, converted, line by line, whether the line was
    read before or not (across a backslash, both readings count)."""
    from pool_lint.analysis.statements import import_groups

    data = (b"import importlib\nx = importlib.import_module('a')  # imported\nfrom a import (b,\n    c)\n"
            b"import d as e, f\ny = 'import g'\nfrom h \\\n    import i\nimported = 1\nimport d as e, f\n")
    plain = [(line, statements) for line, statements in import_groups(data) if statements]
    assert [s for _, s in plain] == [((False, "importlib", (("importlib", None),)),),
                                     ((True, "a", (("b", None), ("c", None))),),
                                     ((False, "d", (("d", "e"),)), (False, "f", (("f", None),))),
                                     ((True, "h", (("i", None),)), (False, "i", (("i", None),))),
                                     ((False, "d", (("d", "e"),)), (False, "f", (("f", None),)))]
    memo: dict = {}
    for _ in range(2):
        converted = [(line, found) for line, found in import_groups(data, lambda s: ("seen", s), memo)
                     if found[1]]
        assert converted == [(line, ("seen", statements)) for line, statements in plain]
    assert not any(found[1] for line, found in import_groups(data, lambda s: ("seen", s), memo)
                   if line is not None and b"import " not in line)


def test_every_import_of_real_files_is_found():
    files = own_files()
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        missing = imports_by_ast(data) - imports_by_screen(data)
        assert not missing, (path, sorted(missing)[:3])


def test_the_hint_names_the_statements_a_session_rule_can_fire_in():
    """Index.hint: the engine rules and POL204 by the file's words, and per session
    family the lines of the module-level statements that can hold its findings."""
    from pool_lint.screen import Index, file_facts

    data = (b"import httpx\n"                                            # 1
            b"from sqlalchemy.orm import Session, sessionmaker\n"       # 2
            b"SessionLocal = sessionmaker()\n"                          # 3
            b"\n"                                                       # 4
            b"def pay(session: Session):\n"                             # 5
            b"    session.flush()\n"                                    # 6
            b"    httpx.post('https://x')\n"                            # 7
            b"\n"                                                       # 8
            b"def load(session: Session):\n"                            # 9
            b"    return session.get(User, 1)\n"                        # 10
            b"\n"                                                       # 11
            b"def report():\n"                                          # 12
            b"    with SessionLocal() as s:\n"                          # 13
            b"        return s.scalars(q)\n")                           # 14
    files = {"app/a.py": data}
    index = Index({p: file_facts(d) for p, d in files.items()}, files.get, root="")
    assert index.select() == {"app/a.py"}
    engine, async_, external, create, tasks = index.hint("app/a.py")
    assert (engine, async_) == (False, False)
    assert external == ((5, 8),)  # pay() names a session and an HTTP call; load() and report() do not
    # POL203: every statement that names a session class or factory (a bare-word match:
    # more than needed, never less), but where it names one only right after a `with`
    # (report(): the `with` closes the session it makes) or an annotation's `:` (pay(),
    # load(): a parameter's type makes no session).
    assert create == ((3, 4),)
    assert tasks == ()



def test_calls_out_through_project_functions_and_skips_files_that_only_import_them():
    """Index.external_names follows project functions that call out, file to file; a
    file that names such a function only in its imports is not split into statements."""
    from pool_lint.screen import Index, file_facts

    files = {
        "app/http.py": b"import httpx\n\ndef notify(url):\n    return httpx.post(url)\n",
        "app/relay.py": b"from app.http import notify\n\ndef relay(url):\n    return notify(url)\n",
        "app/unused.py": b"from app.http import notify  # for later\n\ndef nothing():\n    return 1\n",
        "app/service.py": (b"from sqlalchemy.orm import Session\nfrom app.relay import relay\n"
                           b"from app.unused import nothing\n\n"
                           b"def pay(session: Session):\n    session.flush()\n    relay('https://x')\n\n"
                           b"def idle(session: Session):\n    session.flush()\n    nothing()\n"),
    }
    index = Index({p: file_facts(d) for p, d in files.items()}, files.get, root="")
    names, provided = index.external_names()
    # A file hands out what it defines and what it imports by name (`relay.notify` is
    # `notify`: an importer of the module reaches it as an attribute).
    assert provided == {"app/http.py": {"notify"}, "app/relay.py": {"relay", "notify"},
                        "app/service.py": {"pay", "relay"}, "app/unused.py": {"notify"}}
    assert names == {"notify", "relay", "pay"}
    assert "app/unused.py" not in index._split  # `notify` is named in its import alone
    assert index.select() == {"app/service.py"}
    assert index.hint("app/service.py")[2] == ((5, 8),)  # pay() holds a session and calls out; idle() does not


# -- which words are code ---------------------------------------------------------------------
from pool_lint.screen import Code  # noqa: E402


def _code(text: bytes) -> Code:
    (statement,) = layout(text)
    return Code(statement[0])


@pytest.mark.parametrize("text, word, mentioned", [
    (b"def f():\n    '''Session docs'''\n    return 1\n", b"Session", False),
    (b"def f():\n    '''docs'''\n    return Session()\n", b"Session", True),
    (b"x = 1  # Session\n", b"Session", False),
    (b"x = f'{Session}'\n", b"Session", True),  # an f-string's fields are code
    (b"x = rb'Session'\n", b"Session", False),
    (b"x = 'a \\' Session'\n", b"Session", False),
    (b"x = AsyncSession\n", b"Session", False),  # not as a whole name
    (b'x = """\nSession\n"""; y = Session\n', b"Session", True),
    (b"x = '\"\"\"'; y = '''Session'''\n", b"Session", False),  # quotes inside a string
])
def test_a_word_counts_only_in_code(text, word, mentioned):
    assert _code(text).mentions([word]) is mentioned


# -- a class's members, each a unit of its own -------------------------------------------------
CLASS = b'''class Repository(
    Base,
):
    """Docs.

An unindented line of the docstring.
    """

    model = Thing

    @property
    def name(self):
        return "x"

    async def fetch(self, session: AsyncSession, url):
        await session.execute(select(1))
        return await client.get(url)
'''


def test_a_class_is_split_into_its_members():
    (statement,) = layout(CLASS)
    members = members_of(statement)
    assert b"".join(m[1] for m in members) == CLASS
    starts = [(m[0], m[1].split(b"\n", 1)[0].strip()) for m in members]
    assert starts == [(1, b"class Repository("), (4, b'"""Docs.'), (9, b"model = Thing"), (11, b"@property"),
                      (15, b"async def fetch(self, session: AsyncSession, url):")]


def test_each_unit_holds_its_own_f_strings():
    """The f-strings of a file are found once, and each unit (a statement, a class's
    member) holds those between its first and last token: a member's are the member's;
    after an f-string whose braces do not close (a PEP 701 one cut short by an older
    tokenizer), the rest of the unit is taken as code."""
    text = (b'x = "{plain}"\n'
            b'class C:\n'
            b'    def a(self):\n'
            b'        return f"{client.get(u)}" + rf\'{b}\' + "{c}"\n'
            b'    def b(self):\n'
            b'        return "no"\n'
            b'y = F"{{}} {d}"\n'
            b'z = f"{{"\n')
    first, cls, y, z = layout(text)
    assert first[0][3] == ()
    assert cls[0][3] == (b'f"{client.get(u)}"', b"rf'{b}'")
    head, a, b = members_of(cls)
    assert (head[3], a[3], b[3]) == ((), (b'f"{client.get(u)}"', b"rf'{b}'"), ())
    assert y[0][3] == (b'F"{{}} {d}"',) and z[0][3] == (b'f"{{"',)
    if sys.version_info < (3, 12):
        (unit,) = [s[0] for s in layout(b'def f():\n    g(f"{d["k"]} {h.get(u)}")\n    return 1\n')]
        assert unit[3] == (b'f"{d["', b'    g(f"{d["k"]} {h.get(u)}")\n    return 1\n')


def test_the_hint_of_a_class_names_the_method_that_can_hold_a_finding():
    from pool_lint.screen import SESSION_NAMES, session_units

    external, create, tasks = session_units(layout(CLASS), SESSION_NAMES, (), (b"client",), ())
    assert external == ((15, 17),)  # `fetch`, not the whole class


def test_the_name_a_statement_defines_is_no_call_of_it():
    """`async def read_items(session)` defines `read_items`; it does not call the project's
    other `read_items` (one that calls out): only a use of the name makes the unit a
    candidate, here the recursive call of the second function."""
    from pool_lint.screen import SESSION_NAMES, session_units

    text = (b"from sqlalchemy.ext.asyncio import AsyncSession\n\n\n"
            b"async def read_items(session: AsyncSession):\n    return await session.execute(q)\n\n\n"
            b"async def read_all(session: AsyncSession):\n    return await read_items(session)\n")
    external, _, _ = session_units(layout(text), SESSION_NAMES, (), (b"read_items",), ())
    assert external == ((8, 9),)


def _start(node) -> int:
    decorators = getattr(node, "decorator_list", None)
    return decorators[0].lineno if decorators else node.lineno


def test_statements_and_members_are_where_the_parser_has_them():
    checked = 0
    for path in sorted(HERE.joinpath("pool_lint").rglob("*.py")) + sorted(HERE.joinpath("tests").rglob("*.py")):
        data = path.read_bytes()
        tree = ast.parse(data)
        statements = layout(data)
        assert b"".join(s[0][1] for s in statements) == data
        heads = [s for s in statements if s[1] != "@"]  # (unit, kind, ..., line)
        assert [s[6] for s in heads] == [n.lineno for n in tree.body], path
        for statement, node in zip(heads, tree.body):
            if isinstance(node, ast.ClassDef) and statement[4] is not None:
                assert [m[0] for m in members_of(statement)[1:]] == [_start(n) for n in node.body], (path, node.name)
                checked += 1
    assert checked > 20


def test_a_name_two_files_define_is_handed_out_by_each():
    """Two files of one project that each define `TestingSession`: each hands out its own
    (the big tree's copies of one conftest.py). Before, the second file the index read
    found the name known already and kept nothing of its own, so the function that made a
    session from it was left out of its hint (a POL203 lost with the screen on)."""
    from pool_lint.screen import Index, file_facts

    conftest = (b"from sqlalchemy.ext.asyncio import async_sessionmaker\n"  # 1
                b"TestingSession = async_sessionmaker(engine)\n"          # 2
                b"\n"                                                     # 3
                b"async def db_session():\n"                              # 4
                b"    session = TestingSession()\n"                       # 5
                b"    yield session\n")                                   # 6
    files = {f"copy_{i}/tests/conftest.py": conftest for i in range(3)}
    index = Index({p: file_facts(d) for p, d in files.items()}, files.get, root="")
    index.select()
    for path in files:
        assert (4, 6) in index.hint(path)[3], path


def test_an_attribute_assigned_is_no_name_of_the_module():
    """`env.filters["notify"] = notify` binds no module-level name `filters` (an attribute
    is set on `env`), as `a.b, c = ...` binds `c` alone: a module that imports the project's
    schema module `filters` is no caller of `notify` through it. Before, the attribute's
    name counted as one the module hands out, and every function that named a
    `filters.SomeFilter` was kept as calling out (a real project's 11 files)."""
    from pool_lint.screen import Index, file_facts, module_level

    assert [name for name, _ in module_level(layout(b"env.filters['x'] = f\na.b, c = 1, 2\nd: t.T = 3\n"))[0]] \
        == ["env", "a", "c", "d", "t"]
    files = {
        "app/http.py": b"import httpx\n\ndef notify(url):\n    return httpx.post(url)\n",
        "app/templates.py": b"from app.http import notify\n\nenv = Environment()\nenv.filters['notify'] = notify\n",
        "app/schemas/__init__.py": b"",
        "app/schemas/filters.py": b"class VariableFilter:\n    pass\n",
        "app/models.py": (b"from sqlalchemy.orm import Session\nfrom app.schemas import filters\n\n"
                          b"def read(session: Session, where: filters.VariableFilter):\n"
                          b"    return session.execute(where)\n"),
    }
    index = Index({p: file_facts(d) for p, d in files.items()}, files.get, root="")
    names, provided = index.external_names()
    assert provided["app/templates.py"] == {"env", "notify"}  # (`notify`: imported by name, templates.notify)
    assert "filters" not in names
    assert index.select() == set()


def test_chain_tops_index_finds_what_each_top_finds():
    """ModuleFinder._in_chains (one index of the files below the chain tops) finds what
    `_at(top, module)` finds over every chain top of the module's first name."""
    import itertools
    import os

    from pool_lint.screen import ModuleFinder

    root = os.sep + "r"
    rel = ["services/api/app/__init__.py", "services/api/app/db.py", "services/api/app/models/__init__.py",
           "services/api/app/models/user.py", "services/worker/app/__init__.py", "services/worker/app/db.py",
           "services/worker/app.py", "libs/money/money/__init__.py", "libs/money/money/core.py",
           "libs/money/money/sub/pkg/__init__.py", "libs/money/money/sub/pkg/x.py", "libs/money/tests/test_a.py",
           "libs/v1.2/odd/__init__.py", "libs/v1.2/odd/y.py", "src/inside/__init__.py", "src/inside/z.py",
           "top/__init__.py", "top/t.py", "scripts/run.py", "pkg/__init__.py", "pkg/inner/__init__.py"]
    files = [os.path.join(root, *path.split("/")) for path in rel]
    finder = ModuleFinder(root, files)
    names = ["app", "money", "odd", "inside", "top", "pkg", "inner", "pkg2", "sub", "x", "v1", ""]
    rests = ["", "db", "models", "models.user", "core", "sub", "sub.pkg", "sub.pkg.x", "pkg.x", "y", "2.odd",
             "z", "t", "nope", ".db", "db.", "inner"]
    for name, rest in itertools.product(names, rests):
        module = f"{name}.{rest}" if rest else name
        expected = set()
        for top in finder._chain_tops().get(module.split(".", 1)[0], ()):
            expected |= finder._at(top, module)
        assert set(finder._in_chains(module)) == expected, module
    assert finder._in_chains("app.db") == {files[1], files[5]}
    assert finder._in_chains("pkg.x") == {files[10]}  # a chain top inside another chain (money/sub/pkg)
    # The index made from the files in another order (each folder's chain tops worked out
    # once, from whichever of its files comes first) is the same.
    again = ModuleFinder(root, list(reversed(files)))
    again._in_chains("app")
    assert again._chained == finder._chained
    # An absolute import, looked for from the root, `src/` and the import root (written
    # out in _find_from), else at the chain tops: what `_at` finds from each.
    folders = {os.path.dirname(path) for path in files} | {root, os.path.join(root, "src"), os.sep, ""}
    for folder, name, rest in itertools.product(sorted(folders), names, rests):
        module = f"{name}.{rest}" if rest else name
        if not module or module.startswith("."):
            continue
        expected = set()
        for base in {root, os.path.join(root, "src"), folder}:
            expected |= finder._at(base, module)
        assert finder._find_from(folder, module) == (expected or set(finder._in_chains(module))), (folder, module)


@pytest.mark.parametrize("body, kept", [
    (b"    with SessionLocal() as s:\n        s.scalars(q)\n", False),
    (b"    async with SessionLocal() as s, s.begin():\n        await s.scalars(q)\n", False),
    (b"    with  \tSessionLocal() as s:\n        s.scalars(q)\n", False),
    (b"    with SessionLocal() as s:\n        t = SessionLocal()\n", True),  # made again outside the `with`
    (b"    with lock, SessionLocal() as s:\n        s.scalars(q)\n", True),  # (a second item: kept, more than needed)
    (b"    with closing(SessionLocal()) as s:\n        s.scalars(q)\n", True),
    (b"    run(SessionLocal())\n", True),
    (b"    maker = SessionLocal\n    with lock:\n        s = maker()\n", True),
    (b"    s = with_retry(SessionLocal)\n", True),
    (b"    # with SessionLocal() as s\n    s = SessionLocal()\n", True),
    (b"    pass\n\n\nasync def use(session: SessionLocal) -> SessionLocal:\n    return session\n", False),
    (b"    pass\n\n\ndef use(\n    session:\n        SessionLocal,\n):\n    return session\n", False),
    (b"    get = lambda: SessionLocal()\n    makers = {'a': SessionLocal}\n", False),
    (b"    s: SessionLocal = SessionLocal()\n", True),  # (the second: kept, more than needed)
    (b"    pass\n\n\ndef use(session: Optional[SessionLocal]):\n    return session\n", True),  # (kept)
    (b"    s = (t := SessionLocal())\n", True),
])
def test_pol203_candidates_leave_out_sessions_made_by_a_with(tmp_path, body, kept):
    """The POL203 ranges of the hint (create) leave out a function that names its
    session makers only right after a `with`, a `:` or a `->`: POL203 reports a session
    made in an assignment or passed to a call, never one a `with` makes (and closes),
    nor an annotation. Whatever the
    screen keeps, the analysis finds what the oracle finds."""
    from pool_lint.screen import Index, file_facts

    data = b"from app.db import SessionLocal\n\n\ndef work():\n" + body
    files = {"app/db.py": b"from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n",
             "app/a.py": data}
    index = Index({p: file_facts(d) for p, d in files.items()}, files.get, root="")
    index.select()
    assert bool(index.hint("app/a.py")[3]) is kept
    from conftest import SERVER_PROJECT, write_tree
    from test_screen_left_out import _agree

    write_tree(tmp_path, {"app/__init__.py": "", **{rel: text.decode() for rel, text in files.items()}},
               SERVER_PROJECT)
    _agree(tmp_path)  # the default run finds what `--no-screen` and the oracle find


def test_a_line_remembered_elsewhere_reads_as_if_read_here():
    """import_groups answers a line it has seen before (in any file) from its memo
    before it looks at the line: where this file joins the line to the one above with a
    backslash (`\\` then LF, or CRLF), where a lone carriage return ends lines, where the
    first `import` found is inside a longer name, where a bracket carries the statement
    on, it reads the line as a fresh memo does."""
    from pool_lint.analysis.statements import import_groups

    line = b"from a import b as c; import d"
    warm = line + b"\nimport importlib; from e import (f,\n    g)\nfrom h import i\n"
    shapes = [
        warm,
        b"x = 1 \\\n" + line + b"\n",  # joined to the line above
        b"x = 1 \\\r\n" + line + b"\r\n",
        b"\\\n" + line,  # the backslash at the very start
        b"\\\r\n" + line,
        b"\r\n" + line + b"\r\n",  # a line that starts at offset 2 after a CRLF
        b"\n" + line,
        b"y = '''\\\n'''\n" + line + b"\n",
        b"x = 1\r" + line + b"\rimport z\n",  # lone carriage returns
        b"importlib = 1; import importlib\nimport importlib; from e import (f,\n    g)\n",
        b"from e import (f,\n    g)\nfrom h \\\n import i\n" + line,
        b"# " + line + b"\n\"" + line + b"\"\n" + line,
        b"def f():\n    " + line + b"\n\tfrom h import i\n",
    ]
    convert = lambda statements: ("seen", statements)  # noqa: E731
    for data in shapes:
        fresh = list(import_groups(data, convert, {}))
        memo: dict = {}
        for other in shapes:
            list(import_groups(other, convert, memo))
        assert list(import_groups(data, convert, memo)) == fresh, data
        assert [found for _, found in fresh] == [("seen", s) for _, s in import_groups(data)], data


def test_the_module_finder_skips_names_no_file_has():
    """ModuleFinder.resolve looks a module (or `from m import name` as the module
    `m.name`) up only where its last name is a folder or module name of the root's files
    (`tops`): it resolves what the lookups of every name resolve."""
    import os

    from pool_lint.screen import ModuleFinder

    class Anything(set):
        def __contains__(self, name):
            return True

    root = os.sep + "r"
    rel = ["app/__init__.py", "app/db.py", "app/models/__init__.py", "app/models/user.py", "app/Session.py",
           "src/inside/__init__.py", "src/inside/z.py", "libs/money/money/__init__.py", "libs/money/money/core.py",
           "scripts/run.py", "scripts/helpers.py", "pkg/__init__.py", "pkg/inner/__init__.py", "pkg/inner/deep.py"]
    files = [os.path.join(root, *path.split("/")) for path in rel]
    imports = [(m, n, n or m.split(".")[0]) for m, n in [
        ("app", "db"), ("app", "Session"), ("app", "engine"), ("app.models", "user"), ("app.models", "User"),
        ("app.db", "engine"), ("app.nothing", "x"), ("app.models.user", ""), ("app", ""), ("inside", "z"),
        ("inside.z", "Z"), ("money", "core"), ("money.core", "Money"), ("money", "*"), ("app.models", "*"),
        (".", "db"), (".", "helpers"), (".", "x"), (".db", "engine"), ("..", "app"), ("..app", "db"),
        (".inner", "deep"), (".inner.deep", "D"), ("...", "pkg"), ("pkg.inner", "deep"), ("helpers", "h"),
        ("scripts", "run"), ("scripts.run", ""), ("app.models.user.User", ""), ("app.", "db"), ("", "x")]]
    for importer in files:
        fast = ModuleFinder(root, set(files))
        slow = ModuleFinder(root, set(files), Anything(fast.tops))
        for k in range(len(imports)):
            mix = imports[k:] + imports[:k]
            assert fast.resolve(importer, mix) == slow.resolve(importer, mix), (importer, k)


def test_project_imports_remembered_per_tops():
    """screen.project_imports remembers each entry's answer per `tops` set: two roots
    with other names, asked in turn, each get their own answer."""
    from pool_lint.screen import FileFacts, project_imports

    facts = FileFacts(0, "app.db|engine|engine .m|x|y lib|Client|C os.path||os app||app")
    one, other = {"app"}, {"lib", "m"}
    for _ in range(2):
        assert project_imports(facts, one) == (
            [("app.db", "engine", "engine"), (".m", "x", "y"), ("app", "", "app")], [("x", "y"), ("Client", "C")])
        assert project_imports(facts, other) == (
            [(".m", "x", "y"), ("lib", "Client", "C")], [("x", "y"), ("Client", "C")])
        assert project_imports(FileFacts(0), one) == ([], [])


def test_only_an_engine_or_async_bit_makes_a_plan_before_the_index():
    """stages.plans_before asks Index.plan_before only of files whose bits hold ENGINE or
    ASYNC: for any other bits, in test code or not, it makes no plan."""
    import itertools

    from pool_lint.screen import ASYNC, ENGINE, FAMILIES, Index

    every = frozenset(FAMILIES)
    for bits, path, check_tests in itertools.product(range(1 << 10), ["app/db.py", "tests/test_db.py"],
                                                     [True, False]):
        plan = Index.plan_before(path, bits, every, "", check_tests)
        assert plan is None or bits & (ENGINE | ASYNC), bits
    assert Index.plan_before("app/db.py", ENGINE, every, "", False) is not None


def test_module_level_pairs_each_name_with_its_statement():
    """screen.module_level, over the layouts of this repository's files: each name an
    assignment binds and each function a statement defines, with the statement's unit,
    in order (what the index reads of the files the scan laid out)."""
    from pool_lint.screen import module_level

    seen = 0
    for path in own_files():
        statements = layout(path.read_bytes())
        assigns, defs = module_level(statements)
        assert assigns == [(name, st[0]) for st in statements or () for name in st[2]], path
        assert defs == [(name, st[0]) for st in statements or () for name in st[3]], path
        seen += len(defs)
    assert seen > 100
    assert module_level(None) == ([], [])


def test_the_external_calls_are_followed_only_where_a_session_source_reaches(tmp_path):
    """Index.select follows the project functions that call out only through the files
    the session sources import, directly or through others: a command-line tool that
    calls out through the same helper, and that no source imports, is not read (before,
    every caller of every such function was laid out), and the findings stay those of
    --no-screen and the oracle."""
    import os

    from conftest import SERVER_PROJECT, write_tree
    from pool_lint.screen import Index, file_facts
    from test_screen_left_out import _agree

    files = {
        "app/__init__.py": "", "cli/__init__.py": "",
        "app/http.py": "import httpx\n\n\ndef notify(u):\n    return httpx.post(u)\n",
        "app/relay.py": "from app.http import notify\n\n\ndef relay(u):\n    return notify(u)\n",
        "app/views.py": ("from sqlalchemy.orm import Session\nfrom app.relay import relay\n\n\n"
                         "def view(session: Session):\n    session.execute('SELECT 1')\n    relay('u')\n"),
        "cli/tool.py": "from app.http import notify\n\n\ndef run(u):\n    notify(u)\n    notify(u)\n",
        "cli/main.py": "from cli.tool import run\n\n\ndef main():\n    run('u')\n",
    }
    write_tree(tmp_path, files, SERVER_PROJECT)
    read = []

    def reader(path):
        read.append(os.path.relpath(path, tmp_path))
        with open(path, "rb") as handle:
            return handle.read()

    paths = [str(tmp_path / rel) for rel in files]
    index = Index({p: file_facts(open(p, "rb").read()) for p in paths}, reader, root=str(tmp_path))
    assert index.select() == {str(tmp_path / "app/views.py")}
    assert not {"cli/tool.py", "cli/main.py"} & set(read)
    assert [(rel, code) for rel, _, code in _agree(tmp_path)] == [("app/views.py", "POL201")]


def test_the_first_question_of_hands_over_is_asked_only_where_ession_stands():
    """screen._hands_over asks a function about the session makers and a `-> ...Session`
    annotation only where its text holds "ession": every maker's name holds it, and so
    does every text the annotation's pattern matches."""
    from pool_lint.screen import _RETURNS_SESSION, MAKER_NAMES, _hands_over
    from pool_lint.analysis.statements import layout

    assert all(b"ession" in name for name in MAKER_NAMES)
    assert _RETURNS_SESSION.search(b"def f() -> AsyncSession:") and not _RETURNS_SESSION.search(b"def f() -> Sess:")
    for source, hands in ((b"def f():\n    return sessionmaker(bind=e)()\n", True),
                          (b"def f() -> Session:\n    return x\n", True),
                          (b"def f():\n    return make(bind=e)\n", False)):
        unit = layout(source)[0][0]
        assert _hands_over(unit, (), (), (), (), True) is hands


ORDER_PROJECT = {
    "pyproject.toml": "[project]\nname = 'x'\n",
    "app/__init__.py": "",
    # A class with a method that hands out a session: an object of the project.
    "app/config.py": "from sqlalchemy.ext.asyncio import AsyncSession\n\n\nclass PgConfig:\n"
                     "    def __init__(self, url):\n        self.url = url\n\n"
                     "    def session(self):\n        return AsyncSession()\n",
    # An annotated module-level name: its target's names (the annotation's too) make
    # PgConfig a maker of this file, after it was an object of config.py already.
    "app/vacuum.py": "from app.config import PgConfig\n\n_CONFIGS: dict[str, PgConfig] = {}\n",
    # Hands one out only where PgConfig is a maker it calls.
    "app/deps.py": "from app.config import PgConfig\n\n\ndef provide(url):\n    cfg = PgConfig(url)\n"
                   "    return wrap(cfg)\n\n\ndef wrap(cfg):\n    return cfg\n",
    "app/views.py": "import httpx\n\nfrom app.deps import provide\n\n\nasync def view(url):\n"
                    "    s = provide(url)\n    await httpx.AsyncClient().get('https://x')\n    return s\n",
}


def test_the_session_fixed_point_does_not_depend_on_the_order_files_are_asked_in(tmp_path):
    """Index.session_names asks a file again whenever what it imports grew: an object,
    and also a maker or a function that hands a session out, under a name that was an
    object already (before, a file asked before `app/vacuum.py` made PgConfig a maker
    was not asked again, and `app/views.py` was kept or not by the hash seed: 4 seeds in
    10 lost it; on PrefectHQ/prefect, 22 or 26 files kept)."""
    import subprocess
    import sys

    for rel, text in ORDER_PROJECT.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    script = ("import sys\nfrom pool_lint.screen import Index, file_facts\n"
              "from pool_lint.analysis.runtime import python_files\n"
              "root = sys.argv[1]\nfiles = python_files(root)\n"
              "facts = {p: file_facts(open(p, 'rb').read()) for p in files}\n"
              "index = Index(facts, lambda p: open(p, 'rb').read(), root=root, check_tests=False)\n"
              "print(' '.join(sorted(p[len(root) + 1:] for p in index.select())))\n")
    chosen = set()
    for seed in range(10):
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)})
        assert done.returncode == 0, done.stderr
        chosen.add(done.stdout.strip())
    assert chosen == {"app/config.py app/deps.py app/vacuum.py app/views.py"}


VIEWS = ("import httpx\nfrom sqlalchemy.orm import Session\n\n\n"
         "def view(session: Session):\n    session.execute('SELECT 1')\n    httpx.post('https://x')\n")
CLIENT = ("import httpx\nimport requests\n\n\nclass Client:\n    def __init__(self):\n"
          "        self.session = requests.Session()\n\n    def fetch(self, url):\n"
          "        return self.session.get(url)\n\n\ndef work():\n    s = requests.Session()\n"
          "    s.execute('SELECT 1')\n    httpx.post('https://x')\n")
# Each: the project's files, whether app/client.py's session words are closed off, and
# where the findings are (the default run's, which are the oracle's and --no-screen's).
CLOSED = {
    # requests is the library: its Session is no SQLAlchemy session.
    "an HTTP session": ({"app/client.py": CLIENT}, True, {("app/views.py", "POL201")}),
    # a project module named requests makes one: `import requests` may load it.
    "a project module named as the library": (
        {"app/client.py": CLIENT, "requests.py": (
            "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n"
            "Session = sessionmaker(create_engine('postgresql://h/db', pool_pre_ping=True, pool_recycle=1800))\n")},
        False, {("app/views.py", "POL201"), ("app/client.py", "POL201")}),
    # bytes that are not their own text (the parser reads `ｓqlalchemy` as sqlalchemy).
    "a byte beyond ASCII": ({"app/client.py": "# café\n" + CLIENT}, False, {("app/views.py", "POL201")}),
    # a name Python reads in its NFKC form: the file may hold anything anywhere (COMPAT)
    "a name Python normalises": (
        {"app/client.py": CLIENT.replace("import requests\n", "from ｓqlalchemy import orm as requests\n")},
        False, {("app/views.py", "POL201"), ("app/client.py", "POL201")}),
    "an encoding cookie": ({"app/client.py": "# -*- coding: utf-8 -*-\n" + CLIENT}, False,
                           {("app/views.py", "POL201")}),
    "a star import": ({"app/client.py": "from helpers import *\n" + CLIENT}, False, {("app/views.py", "POL201")}),
    "a relative import": ({"app/client.py": "from . import views\n" + CLIENT}, False, {("app/views.py", "POL201")}),
}


@pytest.mark.parametrize("case", sorted(CLOSED))
def test_session_words_that_can_name_no_sqlalchemy_session(tmp_path, case):
    """screen.closed_off: a file whose text is its bytes, that names neither sqlalchemy,
    sqlmodel nor flask_sqlalchemy, has no star import and no import that may load a
    project file, can reach no SQLAlchemy session: the analysis knows one by its
    qualified name. Its session words (`requests.Session()`) make it no session source
    for the index, and the scan does not lay it out; a project module of the library's
    name, a name the parser normalises, a cookie, a star or a relative import keep
    them. The findings are the oracle's and --no-screen's."""
    from conftest import SERVER_PROJECT, write_tree
    from pool_lint import tasks
    from pool_lint.config import Settings
    from pool_lint.screen import SESSION, SESSION_BITS, Index, file_facts, names_in_paths
    from test_screen_left_out import _agree

    files, closed, expected = CLOSED[case]
    write_tree(tmp_path, {"app/__init__.py": "", "app/views.py": VIEWS, **files}, SERVER_PROJECT)
    paths = [str(tmp_path / rel) for rel in ("app/__init__.py", "app/views.py", *files)]
    client = str(tmp_path / "app/client.py")
    facts = {p: file_facts((tmp_path / p).read_bytes()) for p in paths}
    assert facts[client].bits & SESSION
    index = Index(facts, lambda p: open(p, "rb").read(), root=str(tmp_path))
    assert (not index.bits[client] & SESSION_BITS) == closed
    tasks._init_worker(Settings(), tasks.RunOptions())
    tasks.share_tops({str(tmp_path): names_in_paths(str(tmp_path), paths)})
    try:
        scanned = tasks._scan((client, "app/client.py", str(tmp_path)))
    finally:
        tasks.share_tops({})
    assert (scanned.statements is None) == closed
    assert {(rel, code) for rel, _, code in _agree(tmp_path) if code == "POL201"} == expected


def test_plain_text_is_ascii_without_a_cookie():
    from pool_lint.screen import plain_text

    assert plain_text(b"import requests\n")
    assert not plain_text("x = 'é'\n".encode())
    assert not plain_text(b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nx = 1\n")
    assert plain_text(b"x = 1\ny = 2\n# coding: latin-1 on the third line is no cookie\n")


def test_a_bracketed_import_is_read_in_two_goes(monkeypatch):
    """statements._read_import reads a statement that a bracket carries over its first
    line up to the line of the first `)` after it (else on, doubling): twice in all,
    not once per doubling of the lines; where that `)` stands in a comment of the list,
    it reads on, and finds what the parser finds."""
    from pool_lint.analysis import statements

    calls = []
    parse = statements._parse_import
    monkeypatch.setattr(statements, "_parse_import", lambda window: calls.append(window) or parse(window))
    monkeypatch.setattr(statements, "_READ", {})
    names = [f"name_{i}" for i in range(20)]
    data = ("from package.module import (\n" + "".join(f"    {n},\n" for n in names) + ")\nx = f(1)\n").encode()
    assert statements._read_import(data, 0) == (True, "package.module", tuple((n, None) for n in names))
    assert len(calls) == 2
    tricky = b"from a import (  # b)\n    c,  # (d)\n    e,\n)\n"
    assert imports_by_ast(tricky) == imports_by_screen(tricky)


@pytest.mark.parametrize("spelling", ["from ｓqlalchemy.orm import Session\n",
                                      "from sqlalchemy.orm import Ｓession\n",
                                      "from app.ｄb import Session\n"])
def test_a_name_spelled_in_a_compatibility_form_is_not_lost(tmp_path, spelling):
    """Python reads a name in its NFKC form (`ｓqlalchemy` is sqlalchemy, `Ｓession` is
    Session); the screen's words and the tokenizer's names are the bytes'. A file that
    holds such a character (screen.COMPAT) may hold anything anywhere for the index, as a
    file it cannot read does (Index._left_out's `wild`), and what other files take from
    it is unknown: the default run finds what --no-screen and the oracle find (before,
    the screen lost the route's POL201). A plain accent is no such character, and one
    in a string or a comment stands in no name."""
    from conftest import SERVER_PROJECT, write_tree
    from pool_lint.screen import COMPAT, file_facts
    from test_screen_left_out import _agree

    route = (spelling + "import httpx\n\n\n"
             "def view(session: Session):\n    session.execute('SELECT 1')\n    httpx.post('https://x')\n")
    db = "from sqlalchemy.orm import Session, sessionmaker\n\nSessionLocal = sessionmaker()\n"
    write_tree(tmp_path, {"app/__init__.py": "", "app/db.py": db, "app/views.py": route}, SERVER_PROJECT)
    assert file_facts(route.encode()).bits & COMPAT
    assert not file_facts("# café, naïve\nx = 'é'\n".encode()).bits & COMPAT
    assert not file_facts('icon = "ℹ️"  # 𝕏\n'.encode()).bits & COMPAT  # in a string, a comment: no name
    assert file_facts('ℹ = 1\n'.encode()).bits & COMPAT
    assert file_facts('x = f"{ｓqlalchemy}"\n'.encode()).bits & COMPAT  # an f-string's fields are code
    assert file_facts('x = rf"{ｓqlalchemy}"\n'.encode()).bits & COMPAT
    assert ("app/views.py", "POL201") in [(rel, code) for rel, _, code in _agree(tmp_path)]
