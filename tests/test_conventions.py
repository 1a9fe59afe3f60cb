"""The conventions a ruff user expects of the command line (issue 13): unknown rule codes
are usage errors, `--diff` and `--fix` summaries, `[*]` on fixable findings,
`--statistics`, `--version`, file-level `# pool-lint: noqa: CODES`, and configuration
numbers that must be finite. Every test runs the real command line."""
from __future__ import annotations

import json
import re

import pytest

from conftest import REPO

NAIVE = "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine(URL)\n"
SAFE_FIXES = ["POL101", "POL102", "POL105", "POL106", "POL107"]
# A server project where two findings have unsafe fixes only (POL101 on an explicit False,
# POL103 on a short recycle) and one a safe fix (POL102 on the second engine).
UNSAFE = ("from sqlalchemy import create_engine\n"
          "engine = create_engine(URL, pool_pre_ping=False, pool_recycle=10, pool_size=5, max_overflow=0,"
          " pool_timeout=5)\n"
          "other = create_engine(URL, pool_pre_ping=True, pool_size=5, max_overflow=0, pool_timeout=5)\n")
SERVER = "[project]\nname = 'demo'\n\n[tool.pool-lint]\nruntime = \"server\"\n"


def codes(result):
    return [f["code"] for f in json.loads(result.stdout)]


# -- 1. unknown rule selectors -----------------------------------------------------------------
@pytest.mark.parametrize("option, value, selector", [
    ("--select", "POL999", "POL999"),
    ("--select", "POL101,POL1O2", "POL1O2"),
    ("--ignore", "POL1O2", "POL1O2"),
    ("--extend-select", "POL3", "POL3"),
    ("--per-file-ignores", "app/*:POL9", "POL9"),
    ("--select", "PO", "PO"),  # a prefix of the codes, but not of a rule family: ruff says no too
    ("--ignore", "E501", "E501"),
])
def test_an_unknown_selector_on_the_command_line_is_a_usage_error(cli, project, option, value, selector):
    project.write("app/db.py", NAIVE)
    result = cli("check", option, value, ".", cwd=project.root)
    assert result.returncode == 2
    assert result.stdout == ""  # never "All checks passed!"
    assert f"pool-lint: error: {option}: unknown rule selector '{selector}'" in result.stderr


@pytest.mark.parametrize("selector, expected", [
    ("POL", SAFE_FIXES), ("POL1", SAFE_FIXES), ("POL10", SAFE_FIXES), ("POL101", ["POL101"]),
    ("pol106", ["POL106"]), ("ALL", SAFE_FIXES),
])
def test_codes_and_prefixes_of_known_codes_are_selectors(cli, project, selector, expected):
    project.write("app/db.py", NAIVE)
    result = cli("check", "--output-format", "json", "--select", selector, ".", cwd=project.root)
    assert codes(result) == expected, result.stderr


@pytest.mark.parametrize("table, key, selector", [
    ('select = ["POL999"]', "select", "POL999"),
    ('ignore = ["POL1O2"]', "ignore", "POL1O2"),
    ('extend-select = ["POL2", "POL20X"]', "extend-select", "POL20X"),
    ('per-file-ignores = { "scripts/*" = ["POL1", "XYZ1"] }', "per-file-ignores['scripts/*']", "XYZ1"),
])
def test_an_unknown_selector_in_the_configuration_names_the_file_and_the_key(cli, project, table, key, selector):
    project.write("app/db.py", NAIVE)
    project.write("pyproject.toml", f"[tool.pool-lint]\n{table}\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 2 and result.stdout == ""
    pyproject = project.root / "pyproject.toml"
    assert f"pool-lint: error: {pyproject}: {key}: unknown rule selector '{selector}'" in result.stderr


def test_the_python_api_rejects_unknown_selectors():
    from pool_lint import lint_source
    from pool_lint.config import ConfigError

    with pytest.raises(ConfigError, match="unknown rule selector 'POL999'"):
        lint_source(NAIVE, select=["POL999"])
    with pytest.raises(ConfigError, match="ignore: unknown rule selector 'POL1O2'"):
        lint_source(NAIVE, settings={"ignore": ["POL1O2"]})
    assert [f.code for f in lint_source(NAIVE, select="POL10", ignore=["POL105"], settings={"runtime": "server"})] \
        == ["POL101", "POL102", "POL106", "POL107"]


# -- 2. --diff and --fix summaries ---------------------------------------------------------------
def test_diff_prints_the_diff_then_what_it_would_fix_on_stderr(cli, project):
    path = project.write("app/db.py", NAIVE)
    result = cli("check", "--diff", ".", cwd=project.root)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/app/db.py\n+++ b/app/db.py\n@@ ")
    assert "+engine = create_async_engine(URL, pool_pre_ping=True, pool_recycle=3600" in result.stdout
    assert "POL101" not in result.stdout and "All checks passed!" not in result.stdout + result.stderr
    assert result.stderr == "Would fix 5 findings.\n"
    assert path.read_text() == NAIVE
    one = cli("check", "--diff", "--select", "POL101", ".", cwd=project.root)
    assert (one.returncode, one.stderr) == (1, "Would fix 1 finding.\n")
    quiet = cli("check", "--diff", "-q", ".", cwd=project.root)
    assert quiet.stdout == result.stdout and quiet.stderr == ""
    assert cli("check", "--diff", "--exit-zero", ".", cwd=project.root).returncode == 0


def test_diff_with_nothing_to_fix_prints_nothing_and_exits_0(cli, project):
    project.write("app/db.py", "import os\n")
    result = cli("check", "--diff", ".", cwd=project.root)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_diff_counts_the_unsafe_fixes_it_leaves_out(cli, project):
    project.write("pyproject.toml", SERVER)
    project.write("app/db.py", UNSAFE)
    result = cli("check", "--diff", ".", cwd=project.root)
    assert result.returncode == 1
    assert result.stderr == "Would fix 1 finding (2 additional fixes available with `--unsafe-fixes`).\n"
    only_unsafe = cli("check", "--diff", "--select", "POL101,POL103", ".", cwd=project.root)
    assert (only_unsafe.returncode, only_unsafe.stdout) == (0, "")
    assert only_unsafe.stderr == "No findings would be fixed (2 fixes available with `--unsafe-fixes`).\n"
    everything = cli("check", "--diff", "--unsafe-fixes", ".", cwd=project.root)
    assert (everything.returncode, everything.stderr) == (1, "Would fix 3 findings.\n")


def test_diff_of_standard_input(cli, project):
    result = cli("check", "--diff", "--select", "POL101", "-", cwd=project.root, input=NAIVE)
    assert result.returncode == 1
    assert "+engine = create_async_engine(URL, pool_pre_ping=True)\n" in result.stdout
    assert result.stderr == "Would fix 1 finding.\n"


def test_fix_summary_says_how_many_were_fixed_and_remain(cli, project):
    project.write("pyproject.toml", SERVER)
    path = project.write("app/db.py", UNSAFE)
    result = cli("check", "--fix", ".", cwd=project.root)
    assert result.returncode == 1
    assert "other = create_engine(URL, pool_pre_ping=True, pool_size=5, max_overflow=0, pool_timeout=5, " \
           "pool_recycle=3600)" in path.read_text()
    assert result.stdout == (
        "app/db.py:2:10: POL101 `pool_pre_ping=False` turns pre-ping off: dead connections are handed out instead"
        " of being replaced\n"
        "app/db.py:2:10: POL103 `pool_recycle=10` is below 300 s: the pool keeps reopening connections, paying a"
        " handshake each time\n"
        "Found 3 findings (1 fixed, 2 remaining).\n"
        "2 unsafe fixes available with `--fix --unsafe-fixes`.\n")
    again = cli("check", "--fix", "--unsafe-fixes", ".", cwd=project.root)
    assert (again.returncode, again.stdout) == (0, "Found 2 findings (2 fixed, 0 remaining).\n")
    clean = cli("check", "--fix", ".", cwd=project.root)
    assert (clean.returncode, clean.stdout) == (0, "All checks passed!\n")


def test_fix_of_standard_input_writes_the_summary_to_stderr(cli, project):
    result = cli("check", "--fix", "--select", "POL101,POL102", "-", cwd=project.root, input=NAIVE)
    assert result.stdout == NAIVE.replace("(URL)", "(URL, pool_pre_ping=True, pool_recycle=3600)")
    assert result.stderr == "Found 2 findings (2 fixed, 0 remaining).\n"


# -- 3. --version ----------------------------------------------------------------------------------
def test_version_is_the_installed_one(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert (result.returncode, result.stdout) == (0, f"pool-lint {version('pool-lint')}\n")


# -- 4. [*] on what --fix can fix --------------------------------------------------------------------
def test_text_marks_the_findings_that_fix_can_fix(cli, project):
    project.write("pyproject.toml", SERVER)
    project.write("app/db.py", UNSAFE)
    project.write("app/broken.py", "from sqlalchemy import create_engine\nengine = create_engine(URL,\n")
    result = cli("check", ".", cwd=project.root)
    lines = result.stdout.splitlines()
    assert [re.sub(r"^(\S+ \S+ (?:\[\*\] )?).*", r"\1", line) for line in lines[:-2]] == [
        "app/broken.py:2:23: POL001 ",  # no fix
        "app/db.py:2:10: POL101 ",  # unsafe: not with --fix alone
        "app/db.py:2:10: POL103 ",
        "app/db.py:3:9: POL102 [*] ",  # safe
    ]
    assert lines[-2:] == ["Found 4 findings.",
                          "[*] 1 fixable with `--fix` (2 unsafe fixes available with `--fix --unsafe-fixes`)."]
    unsafe = cli("check", "--unsafe-fixes", ".", cwd=project.root).stdout.splitlines()
    assert [line.split(" ")[2] for line in unsafe[1:-2]] == ["[*]", "[*]", "[*]"]
    assert unsafe[-2:] == ["Found 4 findings.", "[*] 3 fixable with `--fix`."]
    only_unsafe = cli("check", "--select", "POL101,POL103", ".", cwd=project.root).stdout.splitlines()
    assert only_unsafe[-2:] == ["Found 2 findings.", "2 unsafe fixes available with `--fix --unsafe-fixes`."]
    json_output = json.loads(cli("check", "--output-format", "json", ".", cwd=project.root).stdout)
    assert all("[*]" not in f["message"] for f in json_output)  # the mark is the text format's


# -- 5. --statistics ---------------------------------------------------------------------------------
def test_statistics_print_the_table_only(cli, project):
    project.write("pyproject.toml", SERVER)
    project.write("app/db.py", UNSAFE + NAIVE.replace("engine =", "third ="))
    result = cli("check", "--statistics", ".", cwd=project.root)
    assert result.returncode == 1
    assert result.stdout == (
        "2\tPOL101\t[*] missing-pre-ping\n"  # one safe fix (third), one unsafe (engine)
        "2\tPOL102\t[*] missing-recycle\n"
        "1\tPOL103\t[ ] aggressive-recycle\n"
        "1\tPOL105\t[*] unbounded-overflow\n"
        "1\tPOL106\t[*] implicit-pool-size\n"
        "1\tPOL107\t[*] pool-timeout\n"
        "Found 8 findings.\n"
        "[*] 6 fixable with `--fix` (2 unsafe fixes available with `--fix --unsafe-fixes`).\n")
    quiet = cli("check", "--statistics", "-q", ".", cwd=project.root)
    assert quiet.stdout == "".join(result.stdout.splitlines(keepends=True)[:-2])
    rows = json.loads(cli("check", "--statistics", "--output-format", "json", ".", cwd=project.root).stdout)
    assert rows[0] == {"code": "POL101", "name": "missing-pre-ping", "count": 2, "fixable": True,
                       "fixable_count": 1}
    assert rows[2] == {"code": "POL103", "name": "aggressive-recycle", "count": 1, "fixable": False,
                       "fixable_count": 0}
    sarif = cli("check", "--statistics", "--output-format", "sarif", ".", cwd=project.root)
    assert sarif.returncode == 2 and "--statistics: not available with --output-format sarif" in sarif.stderr


def test_statistics_without_anything_fixable_have_no_marks(cli, project):
    project.write("app/broken.py", "from sqlalchemy import create_engine\nx = (\n")
    result = cli("check", "--statistics", ".", cwd=project.root)
    assert result.stdout == "1\tPOL001\tunreadable-file\nFound 1 finding.\n"


# -- 6. file-level noqa with codes ---------------------------------------------------------------------
def test_file_level_noqa_with_codes_suppresses_only_those(cli, project):
    path = project.write("app/db.py", "# pool-lint: noqa: POL101,POL105\n" + NAIVE)
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == ["POL102", "POL106", "POL107"]
    project.write("app/db.py", "#pool-lint:noqa: POL10 POL203\n" + NAIVE)  # prefixes, spaces
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == []
    project.write("app/db.py", NAIVE + "x = 1  # pool-lint: noqa: POL101\n")  # not on a line of its own
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == SAFE_FIXES
    project.write("app/db.py", "# pool-lint: noqa: POL101\n" + NAIVE + "    # pool-lint: noqa: POL102\n")
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == ["POL105", "POL106", "POL107"]
    project.write("app/db.py", "# pool-lint: noqa: POL101\n# pool-lint: noqa\n" + NAIVE)  # the bare one skips
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == []
    # --fix leaves what is exempted alone.
    path = project.write("app/db.py", "# pool-lint: noqa: POL101,POL105\n" + NAIVE)
    result = cli("check", "--fix", ".", cwd=project.root)
    assert result.returncode == 0
    assert path.read_text().endswith("engine = create_async_engine(URL, pool_recycle=3600, pool_size=20, "
                                     "pool_timeout=30)\n")


def test_file_level_noqa_of_pol001(cli, project):
    project.write("app/broken.py", "# pool-lint: noqa: POL001\nfrom sqlalchemy import create_engine\nx = (\n")
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == []
    project.write("app/broken.py", "# pool-lint: noqa: POL101\nfrom sqlalchemy import create_engine\nx = (\n")
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == ["POL001"]


# -- 7. numbers in the configuration are finite --------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+inf", "1e999"])
def test_non_finite_numbers_in_the_configuration_are_errors(cli, project, value):
    project.write("app/db.py", NAIVE)
    project.write("pyproject.toml", f"[tool.pool-lint]\nrequest-timeout = {value}\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 2 and result.stdout == ""
    assert "request-timeout: expected a positive, finite number of seconds" in result.stderr


def test_non_finite_numbers_through_the_python_api():
    from pool_lint import lint_source
    from pool_lint.config import ConfigError

    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ConfigError, match="request-timeout"):
            lint_source(NAIVE, settings={"request-timeout": value})
    with pytest.raises(ConfigError, match="pool-timeout"):
        lint_source(NAIVE, settings={"pool-timeout": float("inf")})


# -- 10. the README says what is true ---------------------------------------------------------------------
def test_the_readme_console_sample_is_real_output(cli):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sample = re.search(r"```console\n\$ pool-lint check fixtures/\n(.*?)\n\$ ", readme, re.S).group(1)
    shown = sample.splitlines()
    output = cli("check", "--no-cache", "fixtures/", cwd=REPO)
    assert output.returncode == 1
    lines = output.stdout.splitlines()
    head = shown[:shown.index("...")] if "..." in shown else shown
    tail = shown[shown.index("...") + 1:] if "..." in shown else []
    assert lines[:len(head)] == head
    assert not tail or lines[-len(tail):] == tail
