"""The screen, the hints and the lazy parses never change what is found on valid Python
(issue 13): the default run and the oracle (pool_lint.oracle: no screen, no hints, every
module parsed whole) give the same findings, whatever the order in which files are
analysed and modules first parsed.

First the inputs the byte-level lexers got wrong, each a named regression test; then a
differential test over mutants of the example projects (`../shared/cases`, or when it is
not beside the repository, `fixtures/` and the regression projects below): form feeds,
vertical tabs, column-0 continuation lines, brackets and quotes in strings and
comments, comments in parenthesised imports, `match`, semicolons, tabs, f-strings (PEP
701 ones only under a Python that parses them).
"""
from __future__ import annotations

import ast
import json
import os
import random
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO, SHARED, run_cli
from pool_lint.analysis.downgrade import parse
from pool_lint.oracle import check_tree

# PEP 701 f-strings are read under any Python (newer syntax goes through LibCST: downgrade).
PEP701 = True


def orders():
    """The orders files are analysed in: as listed, reversed, shuffled."""
    return [("listed", None), ("reversed", lambda t: t[::-1]),
            ("shuffled", lambda t: random.Random(13).sample(t, len(t)))]


def findings(root: Path, **options) -> list:
    """check_tree's findings, file names relative to the root."""
    return [(os.path.relpath(f[0], root),) + f[1:] for f in check_tree(root, **options)]


def assert_same_as_oracle(root: Path) -> list:
    reference = findings(root, oracle=True)
    for name, order in orders():
        assert findings(root, order=order) == reference, f"default run, files {name}"
        assert findings(root, oracle=True, order=order) == reference, f"oracle, files {name}"
    return reference


# -- the regressions ---------------------------------------------------------------------------
DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine(URL, pool_pre_ping=True, pool_recycle=1800, pool_size=5, max_overflow=0, pool_timeout=5)
SessionLocal = sessionmaker(bind=engine)
"""

ROUTES = """\
import httpx
from app.db import SessionLocal


def pay():
    with SessionLocal() as s:
        s.execute("select 1")
        httpx.post("https://payments.example.com")
"""


ENGINE_ROUTES = ROUTES.replace("SessionLocal", "engine").replace("with engine() as s", "with engine.connect() as s")


def write(root: Path, files: dict) -> Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.pool-lint]\nruntime = 'server'\n")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return root


REGRESSIONS = {
    # 1. A `)` in a comment inside a parenthesised import list.
    "a bracket in a comment of an import list": {
        "app/routes.py": ROUTES.replace(
            "from app.db import SessionLocal\n",
            "from app.db import (\n    engine,  # the engine (shared)\n    SessionLocal,\n)\n"),
    },
    # 2. A ":)" string before a call continued on a column-0 line.
    "a bracket in a string before a column-0 continuation": {
        "app/routes.py": ROUTES.replace('        s.execute("select 1")\n',
                                        '        s.execute(":)",\n"select 1")\n'),
    },
    # 3. '\"\"\"' in a string before a triple-quoted SQL string.
    "triple quotes in a string before a triple-quoted string": {
        "app/routes.py": ROUTES.replace('        s.execute("select 1")\n',
                                        "        quote = '\"\"\"'\n        sql = \"\"\"\nselect 1\n\"\"\"\n"
                                        "        s.execute(sql)\n"),
    },
    # 4. The engine inside a module-level `match`.
    "an engine inside a module-level match": {
        "app/db.py": DB.replace("engine = create_engine(", "match MODE:\n    case _:\n        engine = create_engine("),
        "app/routes.py": ENGINE_ROUTES,
    },
    # 5. A semicolon before the engine.
    "an engine after a semicolon": {
        "app/db.py": DB.replace("engine = create_engine(", "a = 1; engine = create_engine("),
        "app/routes.py": ENGINE_ROUTES,
    },
    # 7. A form feed before `def get_db():` (the skeleton swallowed the function).
    "a form feed before a dependency": {
        "app/deps.py": "from app.db import SessionLocal\n\n\ndef helper(x):\n    y = x + 1\n    z = y * 2\n"
                       "    return z\n\x0cdef get_db():\n    with SessionLocal() as s:\n        yield s\n",
        "app/routes.py": "import httpx\nfrom fastapi import Depends\nfrom app.deps import get_db\n\n\n"
                         "def pay(db=Depends(get_db)):\n    db.execute('select 1')\n    httpx.post('https://x')\n",
    },
}
if PEP701:
    # 6. A PEP 701 f-string holding `#` (and its own quotes) before the call.
    REGRESSIONS["a PEP 701 f-string holding a hash"] = {
        "app/routes.py": ROUTES.replace('        s.execute("select 1")\n',
                                        '        s.execute(f"select {"#"} {\')\'}")\n'),
    }


@pytest.mark.parametrize("name", sorted(REGRESSIONS) + ([] if PEP701 else ["a PEP 701 f-string holding a hash"]))
def test_regression(name, tmp_path):
    if name not in REGRESSIONS:
        pytest.skip("PEP 701 f-strings need Python 3.12 to parse")
    files = {"app/__init__.py": "", "app/db.py": DB, "app/routes.py": ROUTES}
    files.update(REGRESSIONS[name])
    for text in files.values():
        parse(text)
    root = write(tmp_path, files)
    found = assert_same_as_oracle(root)
    assert [f[3] for f in found if f[0].endswith("routes.py")] == ["POL201"], found
    cli = run_cli("check", "--output-format", "json", "--extend-select", "POL202", ".", cwd=root)
    assert '"POL201"' in cli.stdout, cli.stdout + cli.stderr


def test_a_form_feed_does_not_hide_a_function_from_the_skeleton():
    from pool_lint.analysis.source import Source
    from pool_lint.analysis.statements import FAST, skeleton

    text = REGRESSIONS["a form feed before a dependency"]["app/deps.py"]
    if FAST:
        shape, stubs = skeleton(text)
        tree = ast.parse(shape)
        assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["helper", "get_db"]
    lazy = Source.parse_lazily(text, "deps.py")
    assert {n.name for n in lazy.tree.body if hasattr(n, "name")} == {"helper", "get_db"}


# -- the differential test over mutants ----------------------------------------------------------
def _lines_in_strings(text: str) -> set:
    """Lines that a multi-line string continues onto (where a mutation would change a
    string, not code: harmless, but not what is meant)."""
    inside = set()
    for node in ast.walk(parse(text)):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno > node.lineno:
            inside.update(range(node.lineno + 1, node.end_lineno + 1))
    return inside


def _continuations(text: str) -> set:
    """Lines inside brackets that continue a call's arguments (not a string's lines)."""
    lines = set()
    tree = parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.end_lineno > node.lineno:
            lines.update(range(node.lineno + 1, node.end_lineno + 1))
    return lines - _lines_in_strings(text)


def _function_starts(text: str):
    """(line, indentation) of each function body's first statement."""
    for node in ast.walk(parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
                if len(node.body) < 2:
                    continue
                first = node.body[1]  # after the docstring
            yield first.lineno, first.col_offset


TRAPS = ['_t = ":)"', "_t = '\"\"\"'", '_t = "({[# ]})"', "_t = ')' + '\\''", '_t = "\\"\\"\\"("',
         "_t = f'#{0}(' ", "_t = '#'; _u = 1"]
if sys.version_info >= (3, 12):  # the mutator reads tokens with the running `tokenize`
    TRAPS += ["_t = f\"{'#'}{\")\"}\"", "_t = f'{\"\\'\"}'"]


def mutate(text: str, kind: str, rng: random.Random) -> str:
    lines = text.split("\n")
    strings = _lines_in_strings(text)
    if kind == "form feeds":
        tree = parse(text)
        tops = {n.lineno for n in tree.body} | {d.lineno for n in tree.body for d in getattr(n, "decorator_list", ())}
        return "\n".join("\x0c" + line if i + 1 in tops else line for i, line in enumerate(lines))
    if kind == "vertical tabs":  # in comments (a vertical tab is no blank in code)
        code = _code_lines(text)
        return "\n".join(line + "  # \x0b ) ] \" '''" if i + 1 in code and rng.random() < 0.5 else line
                         for i, line in enumerate(lines))
    if kind == "column-0 continuations":
        moved = _continuations(text)
        return "\n".join(line.lstrip(" \t") if i + 1 in moved else line for i, line in enumerate(lines))
    if kind == "comments with brackets and quotes":
        code = _code_lines(text)
        return "\n".join(line + "  # ( [ { \" ''' )" if i + 1 in code and rng.random() < 0.5 else line
                         for i, line in enumerate(lines))
    if kind == "strings with brackets and quotes":
        for line_no, column in sorted(_function_starts(text), reverse=True):
            lines.insert(line_no - 1, " " * column + rng.choice(TRAPS))
        return "\n".join(lines)
    if kind == "parenthesised imports":
        tree = parse(text)
        for node in sorted((n for n in tree.body if isinstance(n, ast.ImportFrom) and n.lineno == n.end_lineno
                            and "(" not in lines[n.lineno - 1]), key=lambda n: -n.lineno):
            names = [a.name + (f" as {a.asname}" if a.asname else "") for a in node.names]
            module = "." * node.level + (node.module or "")
            block = [f"from {module} import (  # ) see f() (",
                     *(f"    {name},  # ) ({i})" for i, name in enumerate(names)), ")  # )"]
            lines[node.lineno - 1:node.lineno] = block
        return "\n".join(lines)
    if kind == "match":
        tree = parse(text)
        for node in sorted((n for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))),
                           key=lambda n: -n.lineno):
            body = lines[node.lineno - 1:node.end_lineno]
            if any(i in strings for i in range(node.lineno, node.end_lineno + 1)):
                continue
            lines[node.lineno - 1:node.end_lineno] = ["match 0:", "    case _:"] + ["        " + b for b in body]
        return "\n".join(lines)
    if kind == "semicolons":
        tree = parse(text)
        tops = {n.lineno for n in tree.body if isinstance(n, (ast.Assign, ast.Expr, ast.Import, ast.ImportFrom,
                                                                 ast.AnnAssign))}
        return "\n".join("_pl = 1; " + line if i + 1 in tops else line for i, line in enumerate(lines))
    if kind == "tabs":
        out = []
        for i, line in enumerate(lines):
            stripped = line.lstrip(" ")
            width = len(line) - len(stripped)
            out.append(line if i + 1 in strings or width % 4 else "\t" * (width // 4) + stripped)
        return "\n".join(out)
    if kind == "everything":
        for step in rng.sample(KINDS[:-1], 4):
            try:
                mutated = mutate(text, step, rng)
                parse(mutated)
                text = mutated
            except SyntaxError:
                pass
        return text
    raise ValueError(kind)


def _code_lines(text: str) -> set:
    """Lines that end in code, where a comment can be added (no string continues past
    them, no backslash ends them)."""
    import io
    import tokenize

    ends = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.NEWLINE, tokenize.NL) and token.string in ("\n", "\r\n", ""):
            ends.add(token.start[0])
    return ends


KINDS = ["form feeds", "vertical tabs", "column-0 continuations", "comments with brackets and quotes",
         "strings with brackets and quotes", "parenthesised imports", "match", "semicolons", "tabs", "everything"]


def _sources() -> list:
    """(name, folder) of the projects to mutate."""
    cases = SHARED / "cases"
    if cases.is_dir():
        return [(p.name, p) for p in sorted(cases.iterdir()) if (p / "pyproject.toml").exists()]
    return [("fixtures", REPO / "fixtures")]


def _regression_projects(root: Path) -> list:
    out = []
    for i, (name, files) in enumerate(sorted(REGRESSIONS.items())):
        folder = root / f"_regressions_{i}"
        folder.mkdir(parents=True)
        all_files = {"app/__init__.py": "", "app/db.py": DB, "app/routes.py": ROUTES}
        all_files.update(files)
        write(folder, all_files)
        out.append((f"regression_{i}", folder))
    return out


@pytest.mark.slow
def test_mutants_find_what_the_oracle_finds(tmp_path):
    """Every project mutated every way (a few times where a mutation draws lots), all in
    one tree of separate project roots: the default run finds exactly what the oracle
    finds, with the files analysed in three orders; and so does the command line (worker
    processes, a cold and a warm cache)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    sources = _sources() + _regression_projects(tmp_path / "bases")
    rounds = 2 if (SHARED / "cases").is_dir() else 12
    files = changed = 0
    for name, folder in sources:
        for kind in KINDS:
            for seed in range(rounds if kind in ("vertical tabs", "comments with brackets and quotes",
                                                 "strings with brackets and quotes", "everything") else 1):
                rng = random.Random(f"{name}/{kind}/{seed}")
                target = tree / f"{name}__{kind.replace(' ', '_')}_{seed}"
                shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", ".pool_lint_cache"))
                for path in sorted(target.rglob("*.py")):
                    text = path.read_text(encoding="utf-8")
                    try:
                        ast.parse(text)  # the mutator reads the running Python's tokens
                        mutated = mutate(text, kind, rng)
                        ast.parse(mutated)
                    except SyntaxError:
                        continue  # a file the mutation would break (or newer syntax) stays as it was
                    files += 1
                    if mutated != text:
                        changed += 1
                        path.write_text(mutated, encoding="utf-8", newline="")
    assert files >= 1000 and changed >= files // 2, (files, changed)
    reference = assert_same_as_oracle(tree)
    assert len(reference) > 100
    for _ in range(2):  # cold, then warm
        result = run_cli("check", "--output-format", "json", "--extend-select", "POL202", "--exit-zero", "--jobs", "2",
                         ".", cwd=tree)
        found = sorted((os.path.normpath(f["filename"]), f["location"]["row"], f["location"]["column"], f["code"],
                        f["message"]) for f in json.loads(result.stdout))
        assert found == reference
