"""--fix follows the call's own layout and touches nothing else (SPEC 7)."""
from __future__ import annotations

import json

import pytest

from conftest import SERVER_PROJECT, SHARED, run_cli
from pool_lint import fix_source, lint_source
from pool_lint.stages import SPLIT_SETTLING

ENGINE_RULES = ["POL101", "POL102", "POL103", "POL104", "POL105", "POL106", "POL107", "POL110"]
HEAD = "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"


def fix(source, unsafe=False, **settings):
    settings = {k.replace("_", "-"): v for k, v in settings.items()}
    settings.setdefault("runtime", "server")  # where POL105-POL107 plan capacity (SPEC 3b)
    return fix_source(source, path="app/db.py", select=ENGINE_RULES, unsafe=unsafe, settings=settings)


def test_one_line_call():
    assert fix(HEAD + "e = create_async_engine(URL)\n") == HEAD + (
        "e = create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600, pool_size=20, max_overflow=0, "
        "pool_timeout=30)\n")


def test_empty_call():
    src = HEAD + "e = create_async_engine()\n"
    assert fix(src) == HEAD + ("e = create_async_engine(pool_pre_ping=True, pool_recycle=3600, pool_size=20, "
                               "max_overflow=0, pool_timeout=30)\n")


def test_closing_parenthesis_on_the_last_argument_line():
    src = HEAD + "e = create_async_engine(\n    URL,\n    echo=True)\n"
    assert fix(src, max_overflow=2) == HEAD + (
        "e = create_async_engine(\n    URL,\n    echo=True,\n    pool_pre_ping=True,\n    pool_recycle=3600,\n"
        "    pool_size=20,\n    max_overflow=2,\n    pool_timeout=30)\n")


def test_hanging_indent():
    src = HEAD + "e = create_async_engine(URL,\n                        echo=True)\n"
    out = fix(src)
    assert out.startswith(HEAD + "e = create_async_engine(URL,\n                        echo=True,\n"
                                 "                        pool_pre_ping=True,\n")
    assert out.endswith("                        pool_timeout=30)\n")


def test_crlf_bom_and_comments_are_kept():
    src = ("\ufeff" + HEAD + "e = create_async_engine(\n    URL,  # the url\n    # echo later\n)\n").replace("\n", "\r\n")
    out = fix(src)
    assert out.startswith("\ufeff") and "\n" not in out.replace("\r\n", "")
    assert "    URL,  # the url\r\n    pool_pre_ping=True,\r\n" in out
    assert out.endswith("    pool_timeout=30,\r\n    # echo later\r\n)\r\n")


def test_unresolvable_star_star_is_left_alone():
    src = HEAD + "e = create_async_engine(URL, **load())\n"
    assert fix(src) == src


def test_values_from_configuration():
    src = HEAD + "e = create_async_engine(URL)\n"
    out = fix(src, recycle_seconds=1800, pool_size=8, max_overflow=2, request_timeout=12)
    assert "pool_recycle=1800, pool_size=8, max_overflow=2, pool_timeout=4)" in out


def test_unsafe_fixes_need_opting_in():
    src = HEAD + "e = create_async_engine(URL, pool_pre_ping=False, pool_recycle=60, pool_size=5, max_overflow=0, pool_timeout=5)\n"
    assert fix(src) == src
    assert fix(src, unsafe=True) == src.replace("pool_pre_ping=False", "pool_pre_ping=True").replace(
        "pool_recycle=60", "pool_recycle=3600")


def test_removals_then_insertions_on_one_call():
    src = ("from sqlalchemy import create_engine\nfrom sqlalchemy.pool import StaticPool\n"
           "e = create_engine('postgresql://db/x', poolclass=StaticPool, pool_size=1)\n")
    out = fix(src)
    assert out.endswith("e = create_engine('postgresql://db/x', poolclass=StaticPool, pool_pre_ping=True, "
                        "pool_recycle=3600)\n")


@pytest.mark.skipif(not (SHARED / "fix_cases").is_dir(), reason="../shared/fix_cases is not beside the repository")
@pytest.mark.parametrize("case", sorted(p.stem for p in (SHARED / "fix_cases").glob("*.py")
                                        if not p.name.endswith(".expected.py")) if (SHARED / "fix_cases").is_dir() else [])
def test_shared_fix_cases_through_the_cli(case, tmp_path):
    source = SHARED / "fix_cases" / f"{case}.py"
    target = tmp_path / source.name
    target.write_bytes(source.read_bytes())
    target.chmod(0o640)
    (tmp_path / "pyproject.toml").write_text(SERVER_PROJECT)  # a server project, as the acceptance runs them
    run_cli("check", "--fix", "--no-cache", target, cwd=tmp_path)
    assert target.read_bytes() == (SHARED / "fix_cases" / f"{case}.expected.py").read_bytes()
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)  # file mode kept
    run_cli("check", "--fix", "--no-cache", target, cwd=tmp_path)
    assert target.read_bytes() == (SHARED / "fix_cases" / f"{case}.expected.py").read_bytes()


def test_diff_writes_nothing_and_exits_1(project):
    path = project.write("app/db.py", HEAD + "e = create_async_engine(URL)\n")
    result = run_cli("check", "--diff", "--select", "POL101", ".", cwd=project.root)
    assert result.returncode == 1
    assert "-e = create_async_engine(URL)\n+e = create_async_engine(URL, pool_pre_ping=True)" in result.stdout
    assert path.read_text() == HEAD + "e = create_async_engine(URL)\n"


def test_fix_exit_status_and_remaining_findings(project):
    path = project.write("app/db.py", HEAD + "e = create_async_engine(URL, pool_recycle=60)\n")
    result = run_cli("check", "--fix", "--select", "POL1", "--ignore", "POL108,POL109", ".", cwd=project.root)
    assert "pool_pre_ping=True" in path.read_text()
    assert result.returncode == 1 and "POL103" in result.stdout and "POL101" not in result.stdout
    result = run_cli("check", "--fix", "--unsafe-fixes", "--select", "POL1", "--ignore", "POL108,POL109", ".",
                     cwd=project.root)
    assert result.returncode == 0 and "pool_recycle=3600" in path.read_text()


def test_a_file_that_does_not_parse_is_never_written(project):
    text = HEAD + "e = create_async_engine(URL\n"
    path = project.write("app/db.py", text)
    result = run_cli("check", "--fix", ".", cwd=project.root)
    assert result.returncode == 1 and "POL001" in result.stdout
    assert path.read_text() == text


# -- layouts `ast` positions alone could not fix (issue 15): the LibCST rewrite ---------------
POOL = "pool_pre_ping=True, pool_recycle=3600, pool_size=20, max_overflow=0, pool_timeout=30"
LINES = ["pool_pre_ping=True", "pool_recycle=3600", "pool_size=20", "max_overflow=0", "pool_timeout=30"]


def test_a_parenthesised_argument():
    assert fix(HEAD + "e = create_async_engine((URL))\n") == HEAD + f"e = create_async_engine((URL), {POOL})\n"
    assert fix(HEAD + "e = create_async_engine(((URL)) )\n") == HEAD + f"e = create_async_engine(((URL)), {POOL} )\n"


def test_a_parenthesised_call_and_callee():
    src = HEAD + "e = ((create_async_engine)(URL))  # why\n"
    assert fix(src) == HEAD + f"e = ((create_async_engine)(URL, {POOL}))  # why\n"


def test_a_form_feed_before_the_call():
    # On a line of its own (a page break), and at the start of the statement's line.
    src = HEAD + "\f\ne = create_async_engine(URL)\n\f\nx = 1\n"
    assert fix(src) == HEAD + f"\f\ne = create_async_engine(URL, {POOL})\n\f\nx = 1\n"
    src = HEAD + "\fe = create_async_engine(URL)\n"
    assert fix(src) == HEAD + f"\fe = create_async_engine(URL, {POOL})\n"


def test_a_form_feed_does_not_move_the_reported_edits():
    src = HEAD + "\f\n\n# é\ne = create_async_engine(URL)\n"
    finding = next(f for f in lint_source(src, path="app/db.py", select=["POL101"]))
    edit = finding.fix.edits[0]
    assert (finding.row, edit.row, edit.column, edit.content) == (6, 6, 28, ", pool_pre_ping=True")


def test_backslash_continuations():
    src = HEAD + "e = \\\n    create_async_engine(URL)\n"
    assert fix(src) == HEAD + f"e = \\\n    create_async_engine(URL, {POOL})\n"
    src = HEAD + "e = create_async_engine(URL, \\\n    echo=True)\n"
    assert fix(src) == HEAD + "e = create_async_engine(URL, \\\n    echo=True,\n" + ",\n".join(
        "    " + line for line in LINES) + ")\n"


def test_crlf_and_bom_through_the_api():
    src = "\ufeff" + (HEAD + "e = create_async_engine(\n    URL,\n)\n").replace("\n", "\r\n")
    assert fix(src) == "\ufeff" + (HEAD + "e = create_async_engine(\n    URL,\n" + "".join(
        f"    {line},\n" for line in LINES) + ")\n").replace("\n", "\r\n")


def test_crlf_and_bom_through_the_cli(project):
    data = ("\ufeff" + HEAD + "e = create_async_engine(URL,\n                        echo=True)\n").replace(
        "\n", "\r\n").encode("utf-8")
    path = project.write("app/db.py", data)
    run_cli("check", "--fix", "--select", "POL101", ".", cwd=project.root)
    assert path.read_bytes() == data.replace(b"echo=True)", b"echo=True,\r\n" + b" " * 24 + b"pool_pre_ping=True)")


def test_tabs_keep_the_indentation_of_the_last_argument():
    src = HEAD + "if True:\n\tengine = create_async_engine(\n\t\tURL,\n\t\techo=True,  # loud\n\t)\n"
    assert fix(src) == HEAD + "if True:\n\tengine = create_async_engine(\n\t\tURL,\n\t\techo=True,  # loud\n" + "".join(
        f"\t\t{line},\n" for line in LINES) + "\t)\n"


def test_comments_between_arguments_stay_where_they_were():
    src = HEAD + ("e = create_async_engine(  # the engine\n    URL,  # from the environment\n    # quiet for now\n"
                  "    echo=False  # noisy\n    # closing soon\n)\n")
    assert fix(src) == HEAD + ("e = create_async_engine(  # the engine\n    URL,  # from the environment\n"
                               "    # quiet for now\n    echo=False,  # noisy\n" + ",\n".join(
                                   "    " + line for line in LINES) + "\n    # closing soon\n)\n")


def test_a_trailing_comma_in_a_one_line_call_stays_trailing():
    assert fix(HEAD + "e = create_async_engine(URL,)\n") == HEAD + f"e = create_async_engine(URL, {POOL},)\n"


def test_a_one_line_call_stays_one_line_after_a_multi_line_argument():
    src = HEAD + "e = create_async_engine(URL, connect_args={\n    'timeout': 5,\n})\n"
    assert fix(src) == HEAD + "e = create_async_engine(URL, connect_args={\n    'timeout': 5,\n}" + f", {POOL})\n"


def test_removals_of_whole_lines_keep_the_comments_around_them():
    src = ("from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
           "e = create_async_engine(\n    URL,\n    poolclass=NullPool,  # serverless\n    # sized for the old pool\n"
           "    pool_size=5,  # five\n    max_overflow=2\n)\n")
    assert fix(src) == ("from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
                        "e = create_async_engine(\n    URL,\n    poolclass=NullPool  # serverless\n"
                        "    # sized for the old pool\n)\n")


def test_a_new_value_keeps_its_parentheses():
    src = HEAD + "e = create_async_engine(URL, pool_pre_ping=True, pool_recycle=(60), pool_size=5, max_overflow=0, " \
                 "pool_timeout=5)\n"
    assert fix(src, unsafe=True) == src.replace("(60)", "(3600)")


def test_several_calls_of_one_file_in_one_pass():
    src = HEAD + "a = create_async_engine(A)\n\n\ndef make():\n    return create_async_engine(\n        B,\n    )\n"
    out = fix(src)
    assert f"a = create_async_engine(A, {POOL})\n" in out
    assert "        B,\n" + "".join(f"        {line},\n" for line in LINES) + "    )\n" in out


# -- a fix that cannot be made is not offered ------------------------------------------------
# LibCST drops a form feed that it reads as indentation (in a block): its code for the
# function below would not be byte for byte the file's, so no fix is offered or made.
UNFIXABLE = HEAD + "def make():\n    global engine\n\f    engine = create_async_engine(URL)\n"


def test_a_fix_that_cannot_be_made_is_not_offered():
    findings = lint_source(UNFIXABLE, path="app/db.py", select=["POL101"])
    assert [(f.code, f.fix) for f in findings] == [("POL101", None)]
    assert fix(UNFIXABLE) == UNFIXABLE


def test_a_fix_that_cannot_be_made_is_neither_advertised_nor_counted(project):
    path = project.write("app/db.py", UNFIXABLE)
    result = run_cli("check", "--output-format", "json", "--select", "POL101", ".", cwd=project.root)
    assert [(f["code"], f["fix"]) for f in json.loads(result.stdout)] == [("POL101", None)]
    result = run_cli("check", "--select", "POL101", ".", cwd=project.root)
    assert "Found 1 finding." in result.stdout and "fixable" not in result.stdout
    result = run_cli("check", "--diff", "--select", "POL101", ".", cwd=project.root)
    assert result.returncode == 0 and "fixable" not in result.stdout + result.stderr and "+++" not in result.stdout
    run_cli("check", "--fix", "--select", "POL101", ".", cwd=project.root)
    assert path.read_text() == UNFIXABLE


def test_the_json_edit_is_what_fix_does(project):
    src = HEAD + "e = create_async_engine((URL))\n"
    project.write("app/db.py", src)
    result = run_cli("check", "--output-format", "json", "--select", "POL102", ".", cwd=project.root)
    [finding] = json.loads(result.stdout)
    assert finding["fix"]["edits"] == [{"content": ", pool_recycle=3600", "location": {"row": 3, "column": 30},
                                        "end_location": {"row": 3, "column": 30}}]


def test_findings_without_fixes_never_load_libcst():
    """The flake8 plugin shows no fixes: `lint_source(..., fixes=False)` plans none."""
    import subprocess
    import sys

    script = ("import sys\nfrom pool_lint import lint_source\n"
              f"found = lint_source({HEAD + 'e = create_async_engine(URL)'!r}, path='app/db.py', fixes=False, settings={{'runtime': 'server'}})\n"
              "print(len(found), sum(f.fix is not None for f in found), 'libcst' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    count, fixes, loaded = done.stdout.split()
    assert int(count) >= 5 and (fixes, loaded) == ("0", "False"), done.stdout + done.stderr


def test_noqa_after_a_form_feed_is_read_on_the_right_line():
    """`str.splitlines` breaks at a form feed, Python does not: rows after one named the
    line before, and its `# noqa` was not seen."""
    src = HEAD + "\f\ne = create_async_engine(URL)  # noqa: POL101\n"
    assert [f.code for f in lint_source(src, path="app/db.py", select=["POL101", "POL102"])] == ["POL102"]


# -- which lines LibCST parses: the innermost statement that owns its lines ---------------------
SESSION_HEAD = "from sqlalchemy.ext.asyncio import AsyncSession\n"


def fix_sessions(source):
    return fix_source(source, path="app/db.py", select=["POL204"])


def test_a_statement_on_the_line_of_its_block_header():
    src = HEAD + "if True: e = create_async_engine(URL)\n"
    assert fix(src) == HEAD + f"if True: e = create_async_engine(URL, {POOL})\n"


def test_statements_that_share_a_line():
    src = HEAD + "x = 1; e = create_async_engine(URL); y = 2\n"
    assert fix(src) == HEAD + f"x = 1; e = create_async_engine(URL, {POOL}); y = 2\n"
    src = HEAD + "if True:\n    x = 1; e = create_async_engine(URL)  # c\n"
    assert fix(src) == HEAD + f"if True:\n    x = 1; e = create_async_engine(URL, {POOL})  # c\n"


def test_nested_statements_with_calls_to_fix_in_both():
    src = SESSION_HEAD + ("async def count(engine):\n    async with AsyncSession(engine) as outer:\n"
                          "        async with AsyncSession(\n            engine,\n        ) as inner:\n"
                          "            return outer, inner\n")
    assert fix_sessions(src) == SESSION_HEAD + (
        "async def count(engine):\n    async with AsyncSession(engine, expire_on_commit=False) as outer:\n"
        "        async with AsyncSession(\n            engine,\n            expire_on_commit=False,\n"
        "        ) as inner:\n            return outer, inner\n")
    findings = lint_source(src, path="app/db.py", select=["POL204"])
    assert [f.fix.edits[0].content for f in findings] == [", expire_on_commit=False",
                                                           "            expire_on_commit=False,\n"]


def test_a_call_in_a_decorator():
    src = SESSION_HEAD + "import functools\n\n\n@functools.lru_cache\n@functools.wraps(AsyncSession(e))\ndef f():\n    pass\n"
    out = fix_sessions(src)
    assert out == src.replace("AsyncSession(e)", "AsyncSession(e, expire_on_commit=False)")


def test_an_edit_remembered_from_another_file_is_the_edit_made_afresh():
    """A statement LibCST parsed and a call's checked edit are remembered per process by
    the statement's text: met again at another place (in another file, inside a
    function, after other lines), the edit is the one a fresh process would make."""
    from pool_lint import cstfix, fixes

    call = "create_async_engine(\n    URL,\n    pool_size=5,\n)\n"
    sources = [HEAD + "engine = " + call,
               HEAD + "\n\nX = 1\nengine = " + call,
               HEAD + "def make():\n    engine = " + call.replace("\n    ", "\n        ").replace("\n)", "\n    )")
               + "    return engine\n",
               HEAD + "engine = create_async_engine(URL, pool_size=5)  # one line\n"]

    def edits(source):
        return [(f.code, f.fix) for f in lint_source(source, path="app/db.py", select=ENGINE_RULES)]

    remembered = [edits(source) for source in sources + sources]
    fresh = []
    for source in sources + sources:
        fixes._EDITS.clear()
        cstfix._PARSED.clear()
        fresh.append(edits(source))
    assert remembered == fresh
    assert all(any(fix is not None for _, fix in found) for found in fresh)


# -- in a run, the edits are made where the results are collected -------------------------------
LEFT_TO_MAKE = {
    "one call": HEAD + "e = create_async_engine(URL)\n",
    "two calls": HEAD + "a = create_async_engine(A)\nb = create_async_engine(\n    B,\n    echo=True,\n)\n",
    "one that cannot be made": UNFIXABLE,
    "statements that share a line": HEAD + "x = 1; e = create_async_engine(URL); y = 2\n",
    "on the line of its block header": HEAD + "if True: e = create_async_engine(URL)\n",
    "after a form feed": HEAD + "\fe = create_async_engine(URL)\n",
    "in a function": HEAD + "def make():\n    if True:\n        return create_async_engine(\n            URL)\n",
    "a dict literal of engine options": (
        "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\napp = Flask(__name__)\n"
        "app.config['SQLALCHEMY_DATABASE_URI'] = DATABASE_URL\n"
        "app.config['SQLALCHEMY_ENGINE_OPTIONS'] = {\n    'pool_recycle': 1800,  # c\n    'pool_size': 10,\n}\n"
        "db = SQLAlchemy(app, engine_options={'echo': False})\n"),
    "nested, both to fix": SESSION_HEAD + (
        "async def count(engine):\n    async with AsyncSession(engine) as outer:\n"
        "        async with AsyncSession(\n            engine,\n        ) as inner:\n            return outer, inner\n"),
}


@pytest.mark.parametrize("name", sorted(LEFT_TO_MAKE))
def test_the_fixes_a_check_leaves_to_make_are_those_it_would_have_made(name, tmp_path):
    """In a run, the process that analyses a file (a worker) loads no LibCST: it says
    where each fix's call stands (fixes.Place, from the `ast` tree) and the process that
    collects the results makes and checks the edits (fixes.settle). The findings, their
    fixes and their order are those of a check that makes the edits itself; a fix that
    cannot be made is offered by neither."""
    from pool_lint.checker import Checker
    from pool_lint.config import Settings
    from pool_lint.fixes import settle

    data = LEFT_TO_MAKE[name].encode()
    checker = Checker(Settings())
    project = checker.project(tmp_path)
    made = checker.check_bytes(data, "app/db.py", None, project)
    left = checker.check_bytes(data, "app/db.py", None, project, defer_fixes=True)
    assert made.offers is None and left.offers is not None
    assert [f._replace(fix=None) for f in made.findings] == left.findings
    settle(left)
    assert left.offers is None and left.findings == made.findings
    assert any(f.fix is not None for f in made.findings) is (name != "one that cannot be made")


def test_a_check_that_leaves_its_fixes_to_make_never_loads_libcst(tmp_path):
    import subprocess
    import sys

    script = ("import sys\nfrom pathlib import Path\nfrom pool_lint.checker import Checker\n"
              "from pool_lint.config import Settings\nchecker = Checker(Settings(runtime='server'))\n"
              f"result = checker.check_bytes({(HEAD + 'e = create_async_engine(URL)').encode()!r}, 'app/db.py', None,"
              f" checker.project(Path({str(tmp_path)!r})), defer_fixes=True)\n"
              "print(len(result.offers[1]), 'libcst' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["5", "False"], done.stdout + done.stderr


@pytest.mark.parametrize("engines, settling", [(1, 1), (SPLIT_SETTLING, 2)])
def test_one_worker_of_a_run_loads_libcst_and_makes_the_fixes(project, tmp_path, engines, settling):
    """A run with worker processes: the files where a fix can be offered (the engine
    rules, POL204) go to one worker, which makes their edits; no other worker, and not
    the main process, loads LibCST (each would pay its import, a tenth of a second and
    more), and the fixes are those of a run in one process. From SPLIT_SETTLING such
    files in one batch, two workers share them (and only they load LibCST). (A call with
    a comment in it is not plain: fixes._plain_edit leaves its edits to LibCST.)"""
    import subprocess
    import sys

    project.write("pyproject.toml", "[project]\nname = 'demo'\n\n[tool.pool-lint]\nruntime = 'server'\n")
    for i in range(engines):
        project.write(f"app/db_{i}.py", HEAD + "e = create_async_engine(  # the primary\n    URL,\n)\n")
    project.write("app/other.py", HEAD + "f = create_async_engine(URL, pool_pre_ping=True)\n")
    for i in range(60):  # enough files for the run to start its workers
        project.write(f"app/part_{i}.py", f"VALUE = {i}\n")
    log = tmp_path / "chunks.log"
    script = ("import os, sys\nfrom pool_lint import stages, tasks\n\n\n"
              "def logged(kind, out):\n"
              f"    with open({str(log)!r}, 'a') as handle:\n"
              "        handle.write(f\"{os.getpid()} {kind} {'libcst' in sys.modules}\\n\")\n"
              "    return out\n\n\n"
              "def plain(work):\n    return logged('plain', tasks._analyse_chunk(work))\n\n\n"
              "def settle(work):\n    return logged('settle', tasks._analyse_settle_chunk(work))\n\n\n"
              "stages._analyse_chunk, stages._analyse_settle_chunk = plain, settle\n"
              "from pool_lint.cli import main\ntry:\n"
              "    main(['check', '--no-cache', '--jobs', '2', '--output-format', 'json', '.'])\n"
              "except SystemExit:\n    pass\nprint('libcst' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True, text=True)
    *out, main_loaded = done.stdout.splitlines() or [done.stderr]
    assert main_loaded == "False", done.stdout + done.stderr
    found = json.loads("\n".join(out))
    runs = [line.split() for line in log.read_text().splitlines()]
    settlers = {pid for pid, kind, _ in runs if kind == "settle"}
    assert len(settlers) == settling and \
        {pid for pid, _, loaded in runs if loaded == "True"} == settlers, runs
    alone = subprocess.run([sys.executable, "-m", "pool_lint", "check", "--no-cache", "--jobs", "1",
                            "--output-format", "json", "."], cwd=project.root, capture_output=True, text=True)
    assert found == json.loads(alone.stdout) and sum(f["fix"] is not None for f in found) == 5 * engines + 4, out


@pytest.mark.parametrize("fixing, indexed, jobs, cores, two", [
    (31, None, 2, 2, False),  # too few
    (40, None, 4, 4, True),  # after the index: always
    (40, 100, 1, 2, False),  # one worker
    (128, 978, 2, 2, False),  # the generated tree: the index outlasts them (0.34 s against 0.30 s)
    (128, 978, 2, 4, True),  # a core left for the index
    (200, 978, 2, 2, True),  # past 4/3 of the index's work
    (33, 33, 2, 2, True),  # fixing files are all the index reads
])
def test_two_workers_make_the_edits_only_where_the_index_leaves_them_time(fixing, indexed, jobs, cores, two):
    """stages.split_settling: while the index is made on two cores, a second settler
    would slow the index (three processes on two cores) more than it helps, unless the
    edits' work outlasts the index's by a third."""
    from pool_lint.stages import split_settling

    assert split_settling(fixing, indexed, jobs, cores) is two
