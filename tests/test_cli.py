"""The command line as a user meets it: output formats, selection, suppression, exit
statuses, and bad input that must give a clear message while the run goes on."""
from __future__ import annotations

import json

import pytest

NAIVE = "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine(URL)\n"
ALL_MISSING = ["POL101", "POL102", "POL105", "POL106", "POL107"]


def codes(result):
    return [f["code"] for f in json.loads(result.stdout)]


def test_text_output_is_flake8_style(cli, project):
    project.write("app/db.py", NAIVE)
    result = cli("check", "app", cwd=project.root)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("app/db.py:2:10: POL101 [*] engine without")
    assert result.stdout.endswith("Found 5 findings.\n[*] 5 fixable with `--fix`.\n")


def test_json_fields(cli, project):
    project.write("app/db.py", NAIVE)
    result = cli("check", "--output-format", "json", ".", cwd=project.root)
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ALL_MISSING
    first = findings[0]
    assert first["filename"] == "app/db.py"
    assert first["location"] == {"row": 2, "column": 10}
    assert first["end_location"] == {"row": 2, "column": 29}
    assert first["name"] == "missing-pre-ping" and first["severity"] == "warning"
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"] == [{"content": ", pool_pre_ping=True", "location": {"row": 2, "column": 33},
                                      "end_location": {"row": 2, "column": 33}}]


def test_clean_project_exits_zero(cli, project):
    project.write("app/db.py", "import os\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 0
    assert "All checks passed!" in result.stdout


def test_select_ignore_extend_select_with_prefixes(cli, project):
    project.write("app/db.py", NAIVE)
    assert codes(cli("check", "--output-format", "json", "--select", "POL10", "--ignore", "POL105,POL106", ".",
                     cwd=project.root)) == ["POL101", "POL102", "POL107"]
    assert codes(cli("check", "--output-format", "json", "--ignore", "POL1", "--extend-select", "POL101", ".",
                     cwd=project.root)) == ["POL101"]


def test_per_file_ignores_from_cli_and_config(cli, project):
    project.write("scripts/seed.py", NAIVE)
    assert codes(cli("check", "--output-format", "json", "--per-file-ignores", "scripts/*:POL1", ".",
                     cwd=project.root)) == []
    project.write("pyproject.toml", '[tool.pool-lint]\nruntime = "server"\n'
                  'per-file-ignores = { "scripts/*" = ["POL105", "POL106"] }\n')
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == ["POL101", "POL102", "POL107"]


def test_noqa_on_any_line_of_the_call(cli, project):
    project.write("app/db.py", (
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "engine = create_async_engine(\n"
        "    URL,  # noqa: POL106,POL105\n"
        "    pool_pre_ping=True,\n"
        ")\n"
        "other = create_async_engine(URL)  # noqa\n"
    ))
    assert codes(cli("check", "--output-format", "json", ".", cwd=project.root)) == ["POL102", "POL107"]


def test_file_level_noqa(cli, project):
    project.write("app/db.py", "# pool-lint: noqa\n" + NAIVE)
    assert cli("check", ".", cwd=project.root).returncode == 0


def test_exit_zero_statistics_quiet_output_file(cli, project, tmp_path):
    project.write("app/db.py", NAIVE)
    result = cli("check", "--exit-zero", "--statistics", ".", cwd=project.root)
    assert result.returncode == 0
    assert "1\tPOL101\t[*] missing-pre-ping\n" in result.stdout
    quiet = cli("check", "-q", ".", cwd=project.root)
    assert "Found" not in quiet.stdout and quiet.stdout.count("POL") == 5
    out = tmp_path / "report.json"
    result = cli("check", "--output-format", "json", "--output-file", out, ".", cwd=project.root)
    assert result.returncode == 1 and result.stdout == ""
    assert len(json.loads(out.read_text())) == 5


def test_show_source(cli, project):
    project.write("app/db.py", NAIVE)
    result = cli("check", "--show-source", "--select", "POL101", ".", cwd=project.root)
    assert "    engine = create_async_engine(URL)\n             ^" in result.stdout


def test_stdin_with_filename(cli, project):
    result = cli("check", "--output-format", "json", "--stdin-filename", "app/db.py", "-", cwd=project.root,
                 input=NAIVE)
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ALL_MISSING
    assert findings[0]["filename"] == "app/db.py"


def test_stdin_fix_writes_fixed_source_to_stdout(cli, project):
    result = cli("check", "--fix", "--select", "POL101", "-", cwd=project.root, input=NAIVE)
    assert result.stdout == NAIVE.replace("(URL)", "(URL, pool_pre_ping=True)")
    assert result.returncode == 0


def test_rule_docs(cli):
    result = cli("rule", "POL101")
    assert result.returncode == 0
    assert result.stdout.startswith("# missing-pre-ping (POL101)")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix"):
        assert section in result.stdout
    listing = cli("rule", "--all")
    assert "POL110  pool-args-with-nullpool" in listing.stdout
    assert cli("rule", "POL999").returncode == 2


# -- bad input ---------------------------------------------------------------------------
def test_syntax_error_is_pol001_and_run_goes_on(cli, project):
    project.write("app/broken.py", "from sqlalchemy import create_engine\nengine = create_engine(URL,\n")
    project.write("app/db.py", NAIVE)
    result = cli("check", "--output-format", "json", ".", cwd=project.root)
    findings = json.loads(result.stdout)
    broken = [f for f in findings if f["filename"] == "app/broken.py"]
    assert [f["code"] for f in broken] == ["POL001"]
    assert "syntax error" in broken[0]["message"] and broken[0]["location"]["row"] == 2
    assert [f["code"] for f in findings if f["filename"] == "app/db.py"] == ALL_MISSING
    assert result.returncode == 1


def test_undecodable_bytes(cli, project):
    project.write("app/latin.py", b"from sqlalchemy import create_engine\nname = '\xe9t\xe9'\n")
    project.write("app/db.py", NAIVE)
    result = cli("check", ".", cwd=project.root)
    assert "app/latin.py:1:1: POL001 cannot decode as utf-8" in result.stdout
    assert "app/db.py:2:10: POL101" in result.stdout
    assert result.returncode == 1


def test_encoding_cookie_is_honoured(cli, project):
    project.write("app/latin.py", b"# -*- coding: latin-1 -*-\nfrom sqlalchemy import create_engine\n"
                                  b"name = '\xe9t\xe9'\nengine = create_engine(URL)\n")
    result = cli("check", "--output-format", "json", ".", cwd=project.root)
    assert codes(result) == ALL_MISSING


def test_empty_file_and_folder_without_python(cli, project):
    project.write("app/empty.py", "")
    (project.root / "docs").mkdir()
    assert cli("check", "app", cwd=project.root).returncode == 0
    result = cli("check", "docs", cwd=project.root)
    assert result.returncode == 0
    assert "no Python files found under docs" in result.stderr


def test_missing_path_is_reported_and_others_checked(cli, project):
    project.write("app/db.py", NAIVE)
    result = cli("check", "nowhere.py", "app", cwd=project.root)
    assert "nowhere.py:1:1: POL001 cannot read: No such file or directory" in result.stdout
    assert "app/db.py:2:10: POL101" in result.stdout
    assert result.returncode == 1


def test_broken_pyproject_exits_2_with_a_message(cli, project):
    project.write("app/db.py", NAIVE)
    project.write("pyproject.toml", "[tool.pool-lint\nselect = [")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 2
    assert "invalid TOML" in result.stderr and "pyproject.toml" in result.stderr


def test_unknown_key_and_wrong_type_name_the_key(cli, project):
    project.write("app/db.py", NAIVE)
    project.write("pyproject.toml", "[tool.pool-lint]\nmax-recycles = 10\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 2 and "unknown key 'max-recycles'" in result.stderr
    project.write("pyproject.toml", "[tool.pool-lint]\nmin-recycle = 'soon'\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 2 and "min-recycle: expected a whole number" in result.stderr
    project.write("pyproject.toml", "[tool.pool-lint]\nmin-recycle = 4000\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 2 and "min-recycle (4000) must not be above max-recycle (3600)" in result.stderr


def test_config_and_isolated(cli, project, tmp_path):
    project.write("app/db.py", NAIVE)
    project.write("pyproject.toml", "[tool.pool-lint]\nignore = ['POL1']\n")
    assert cli("check", ".", cwd=project.root).returncode == 0
    assert cli("check", "--isolated", ".", cwd=project.root).returncode == 1
    other = tmp_path / "other.toml"
    other.write_text("[tool.pool-lint]\nselect = ['POL101']\n")
    assert codes(cli("check", "--output-format", "json", "--config", other, ".", cwd=project.root)) == ["POL101"]


def test_default_excludes_and_extend_exclude(cli, project):
    for folder in (".venv", "venv", "build", "node_modules", "site-packages"):
        project.write(f"{folder}/lib.py", NAIVE)
    project.write("generated/models.py", NAIVE)
    project.write("pyproject.toml", "[tool.pool-lint]\nextend-exclude = ['generated']\n")
    result = cli("check", ".", cwd=project.root)
    assert result.returncode == 0, result.stdout


def test_the_code_table_agrees_with_the_rules():
    """selection.RULE_CODES (what a run uses before it loads any rule) is the rules'
    own codes and defaults, and gives the selection the rules give."""
    from pool_lint.config import Settings
    from pool_lint.rules import ALL_RULES
    from pool_lint.selection import RULE_CODES, Selection, enabled_codes

    assert RULE_CODES == {code: rule.default_enabled for code, rule in ALL_RULES.items()}
    for changes in ({}, {"select": ("POL1",)}, {"extend_select": ("POL202",)}, {"ignore": ("POL10", "POL203")},
                    {"select": ("ALL",)}, {"select": ("POL",), "extend_select": ("POL2",)}):
        settings = Settings(**changes)
        assert enabled_codes(settings) == Selection(settings, list(ALL_RULES.values())).enabled, changes


BROKEN_RULE = """
import sys
from pool_lint.rules import ALL_RULES

def boom(self, file):
    if file.filename.endswith("broken.py"):
        raise ZeroDivisionError("a bug")
    return ORIGINAL(self, file)

ORIGINAL = ALL_RULES["POL101"].check
ALL_RULES["POL101"].check = boom
sys.argv = ["pool-lint", *sys.argv[1:]]
from pool_lint.cli import entry
entry()
"""


@pytest.mark.parametrize("files", [1, 60])  # in this process, and in the forked workers
def test_an_internal_error_leaves_one_file_unchecked_and_the_run_goes_on(tmp_path, files):
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    engine = "from sqlalchemy import create_engine\nengine = create_engine('postgresql://h/db')\n"
    (tmp_path / "broken.py").write_text(engine)
    for i in range(files):
        (tmp_path / f"fine_{i}.py").write_text(engine)
    result = subprocess.run([sys.executable, "-c", BROKEN_RULE, "check", "--no-cache", "--select", "POL101", "."],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "broken.py: internal error, the file was not checked: ZeroDivisionError: a bug" in result.stderr
    assert "please report it" in result.stderr
    assert result.stdout.count("POL101") == files  # every other file was checked


# -- the command line itself -----------------------------------------------------------------
def test_usage_errors_exit_2_with_a_message(cli, project):
    result = cli()
    assert result.returncode == 2 and result.stderr.startswith("usage: pool-lint")
    result = cli("lint", ".")
    assert result.returncode == 2 and "no such command 'lint' (choose from check, rule, pools)" in result.stderr
    result = cli("check", "--jobs", "0", ".", cwd=project.root)
    assert result.returncode == 2 and "'--jobs': 0 is below 1" in result.stderr  # click's usage-error wording
    result = cli("check", "--output-format", "xml", ".", cwd=project.root)
    assert result.returncode == 2 and "'--output-format': 'xml' is not one of" in result.stderr
    result = cli("check", "--sel", "POL1", ".", cwd=project.root)  # no abbreviations: one spelling per option
    assert result.returncode == 2 and "No such option '--sel'" in result.stderr
    result = cli("check", "--select", "E501", ".", cwd=project.root)
    assert result.returncode == 2 and "--select: unknown rule selector 'E501'" in result.stderr
    (project.root / "out").mkdir()
    result = cli("check", "--output-file", "out", ".", cwd=project.root)
    assert result.returncode == 2 and "--output-file out: a folder, not a file" in result.stderr


def test_help_and_version(cli):
    top = cli("--help")
    assert top.returncode == 0 and "check" in top.stdout and "rule" in top.stdout
    check = cli("check", "--help")
    assert check.returncode == 0 and "--per-file-ignores GLOB:CODES" in check.stdout
    assert "--no-screen" not in check.stdout  # for the tests only
    from pool_lint import __version__

    for option in ("--version", "-V"):
        version = cli(option)
        assert (version.returncode, version.stdout) == (0, f"pool-lint {__version__}\n")


def test_options_may_follow_the_paths(cli, project):
    project.write("app/db.py", NAIVE)
    project.write("lib/db.py", NAIVE)
    result = cli("check", "app", "--select", "POL101", "lib", "--output-format", "json", cwd=project.root)
    assert [(f["filename"], f["code"]) for f in json.loads(result.stdout)] == [
        ("app/db.py", "POL101"), ("lib/db.py", "POL101")]


def test_a_run_imports_only_what_it_uses(project):
    """What a run imports before its first file is start-up time on every pre-commit call:
    a run that finds nothing to analyse loads neither the rules nor the analysis, and no
    module the command line does not need."""
    import subprocess
    import sys

    project.write("pyproject.toml", "[project]\nname = 'demo'\n")  # runtime auto: no deployment files read
    project.write("app/util.py", "import os\n\nprint(os.sep)\n")
    script = ("import sys\nfrom pool_lint.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "heavy = ('dataclasses', 'shutil', 'hashlib', 'json', 'pickle', 'pool_lint.rules',\n"  # click: the parser
              "         'pool_lint.checker', 'libcst', 'pool_lint.cstfix')\n"
              "print(' '.join(m for m in heavy if m in sys.modules))\n")
    # json reads and writes the cache (C-accelerated, and cheap to import): only a run
    # without a cache goes without it.
    for args, loaded in ((["check", "--no-cache", "."], ""), (["check", "."], "json"), (["check", "."], "json")):
        done = subprocess.run([sys.executable, "-c", script, *args], cwd=project.root, capture_output=True, text=True)
        assert done.stdout.splitlines()[-1] == loaded, (args, done.stdout, done.stderr)


def test_libcst_is_loaded_only_for_a_fix_to_offer(project):
    """LibCST (its import alone costs more than a run over a small tree) is for fixes: a
    run whose findings offer none never loads it; one with a fix to offer does, unless
    every such fix is a keyword inserted into a plain call (fixes._plain_edit)."""
    import subprocess
    import sys

    project.write("pyproject.toml", "[project]\nname = 'demo'\n\n[tool.pool-lint]\nruntime = 'server'\n")
    project.write("app/db.py", "from sqlalchemy import create_engine\nfrom sqlalchemy.pool import NullPool\n"
                  "engine = create_engine(URL, poolclass=NullPool)\n")
    script = ("import sys\nfrom pool_lint.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print('libcst' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script, "check", "--no-cache", "--jobs", "1", "."],
                          cwd=project.root, capture_output=True, text=True)
    assert "POL108" in done.stdout and done.stdout.splitlines()[-1] == "False", done.stdout + done.stderr
    for code, loaded in ((NAIVE, "False"), (NAIVE.replace("(URL)", "(URL  # the primary\n)"),
                                            "True")):
        project.write("app/db.py", code)
        done = subprocess.run([sys.executable, "-c", script, "check", "--no-cache", "--jobs", "1", "."],
                              cwd=project.root, capture_output=True, text=True)
        assert "POL101 [*]" in done.stdout and done.stdout.splitlines()[-1] == loaded, done.stdout + done.stderr
