"""The screen reads import statements from bytes: it must find every import Python's own
parser finds (a missed import could hold back a file that can hold a finding)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pool_lint.screen import import_statements

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
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_of_import_is_found(form):
    data = FORMS[form]
    assert imports_by_ast(data) <= imports_by_screen(data)


def own_files():
    roots = [HERE / "pool_lint", HERE / "tests", HERE / "benchmarks", SHARED / "cases", SHARED / "fix_cases"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.py"))


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
    # POL203: every statement that names a session class or factory (a bare-word match,
    # so `session: Session` counts too: more than needed, never less).
    assert (12, 14) in create and (5, 8) in create
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
    assert provided == {"app/http.py": {"notify"}, "app/relay.py": {"relay"}, "app/service.py": {"pay"}}
    assert names == {"notify", "relay", "pay"}
    assert "app/unused.py" not in index._split  # `notify` is named in its import alone
    assert index.select() == {"app/service.py"}
    assert index.hint("app/service.py")[2] == ((5, 8),)  # pay() holds a session and calls out; idle() does not


# -- which words are code ---------------------------------------------------------------------
from pool_lint.screen import Code, _mentions, split_statements  # noqa: E402


@pytest.mark.parametrize("text, word, mentioned", [
    (b"def f():\n    '''Session docs'''\n    return 1\n", b"Session", False),
    (b"def f():\n    '''docs'''\n    return Session()\n", b"Session", True),
    (b"x = 1  # Session\n", b"Session", False),
    (b"x = f'{Session}'\n", b"Session", True),  # an f-string's fields are code
    (b"x = rb'Session'\n", b"Session", False),
    (b"x = 'a \\' Session'\n", b"Session", False),
    (b"x = AsyncSession\n", b"Session", False),  # not as a whole name
    (b'x = """\nSession\n"""; y = Session\n', b"Session", True),
])
def test_a_word_counts_only_in_code(text, word, mentioned):
    assert Code(text).mentions([word]) is mentioned


def _reference_code(text: bytes) -> bytes:
    """The code of a text, the slow way: every comment and plain string taken out."""
    import re

    noise = re.compile(rb"""#[^\r\n]*|"{3}(?:[^"\\]|\\.|"(?!""))*"{3}|'{3}(?:[^'\\]|\\.|'(?!''))*'{3}"""
                       rb"""|"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*'""", re.DOTALL)

    def quiet(match):
        found = match.group(0)
        prefix = re.search(rb"[rRbBuUfF]{1,2}$", match.string[max(0, match.start() - 3):match.start()])
        if found[:1] != b"#" and prefix is not None and b"f" in prefix.group(0).lower():
            return found
        return b"" if found[:1] == b"#" else b"0"

    return noise.sub(quiet, text)


def test_code_asked_as_far_as_needed_agrees_with_the_whole_text_stripped():
    import re

    checked = 0
    for path in sorted(Path(__file__).resolve().parents[1].joinpath("pool_lint").rglob("*.py")):
        for unit in split_statements(path.read_bytes()):
            code, lazy = _reference_code(unit), Code(unit)
            # (A string's prefix, `rb` of `rb"..."`, is left out: no word asked is one.)
            words = sorted(set(re.findall(rb"[A-Za-z_]\w+", unit)) - {b"rb", b"br", b"fr", b"rf", b"Rb", b"bR"})
            for word in words[::7]:
                assert lazy.mentions([word]) == _mentions(code, [word]), (path, word)
                assert lazy.contains([word]) == (word in code), (path, word)
                checked += 1
    assert checked > 1000


# -- a class's members, each a unit of its own -------------------------------------------------
from pool_lint.analysis.statements import class_members  # noqa: E402

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


def test_a_class_is_split_into_its_members_only_where_its_lines_allow():
    members = class_members(CLASS)
    assert members is None  # a docstring line in column 0: the class stays one unit
    indented = CLASS.replace(b"\nAn unindented", b"\n    An indented")
    members = class_members(indented)
    assert b"".join(text for _, text in members) == indented
    starts = [(line, text.split(b"\n", 1)[0].strip()) for line, text in members]
    assert starts == [(0, b"class Repository("), (3, b'"""Docs.'), (8, b"model = Thing"), (10, b"@property"),
                      (14, b"async def fetch(self, session: AsyncSession, url):")]


def test_the_hint_of_a_class_names_the_method_that_can_hold_a_finding():
    from pool_lint.screen import SESSION_NAMES, session_units

    text = CLASS.replace(b"\nAn unindented", b"\n    An indented")
    external, create, tasks = session_units([text], SESSION_NAMES, (), (b"client",), ())
    assert external == ((15, 17),)  # `fetch`, not the whole class


def test_no_member_boundary_falls_inside_a_function():
    checked = 0
    for path in sorted(Path(__file__).resolve().parents[1].joinpath("pool_lint").rglob("*.py")) + \
            sorted(Path(__file__).resolve().parents[1].joinpath("tests").rglob("*.py")):
        data = path.read_bytes()
        classes = {n.lineno: n for n in ast.parse(data).body if isinstance(n, ast.ClassDef)}
        line = 1
        for statement in split_statements(data):
            members = class_members(statement) if line in classes else None
            if members is not None:
                assert b"".join(text for _, text in members) == statement
                starts = [line + offset for offset, _ in members]
                for func in ast.walk(classes[line]):
                    if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        assert not [s for s in starts if func.lineno < s <= func.end_lineno], (path, func.name)
                        checked += 1
            line += statement.count(b"\n")
    assert checked > 100


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
