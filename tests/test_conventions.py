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
    assert [f.code for f in lint_source(NAIVE, select="POL10", ignore=["POL105"])] == ["POL101", "POL102",
                                                                                       "POL106", "POL107"]


# -- 3. --version ----------------------------------------------------------------------------------
def test_version_is_the_installed_one(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert (result.returncode, result.stdout) == (0, f"pool-lint {version('pool-lint')}\n")


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
