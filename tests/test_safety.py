"""SPEC 5 "Safety" and ruff's file selection: only regular files inside the checked root
are read (at most files.MAX_BYTES each) and written; unreadable folders are named;
`--exclude`, `--extend-exclude`, `--force-exclude` and `.gitignore` choose the files."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from conftest import run_cli

NAIVE = "from sqlalchemy import create_engine\nengine = create_engine('postgresql://h/db')\n"
FIXED = ("from sqlalchemy import create_engine\nengine = create_engine('postgresql://h/db', pool_pre_ping=True, "
         "pool_recycle=3600, pool_size=20, max_overflow=0, pool_timeout=30)\n")
TIMEOUT = 60  # a run that blocks (on a FIFO, on /dev/zero) fails here instead of hanging the suite


def check(*args, cwd, input=None, timeout=TIMEOUT):
    """`pool-lint check --no-cache ARGS` in a subprocess that cannot hang the suite."""
    try:
        return subprocess.run([sys.executable, "-m", "pool_lint", "check", "--no-cache", *map(str, args)], cwd=cwd,
                              input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:  # pragma: no cover - the failure this file guards against
        pytest.fail(f"pool-lint check {' '.join(map(str, args))} did not finish in {timeout} s: {exc}")


def found(result):
    """(filename, code, message) of each finding of a `--output-format json` run."""
    assert result.returncode in (0, 1), result.stderr
    return sorted((f["filename"], f["code"], f["message"]) for f in json.loads(result.stdout))


def files_of(result):
    return sorted({f[0] for f in found(result)})


# -- only regular files, at most MAX_BYTES ---------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_not_a_regular_file_and_never_blocks(project):
    project.write("app/db.py", NAIVE)
    os.mkfifo(project.root / "app" / "pipe.py")  # nobody writes it: opening it to read would block
    walked = check("--output-format", "json", ".", cwd=project.root)
    named = check("--output-format", "json", "app/pipe.py", cwd=project.root)
    pol001 = ("app/pipe.py", "POL001", "cannot read: not a regular file (a FIFO)")
    assert pol001 in found(walked) and found(named) == [pol001]
    assert "app/db.py" in files_of(walked)
    assert walked.returncode == named.returncode == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_deployment_files_and_a_configuration_that_are_fifos_never_block(project):
    """What the runtime verdict and the connection budget read (a Procfile, a compose
    file, a Dockerfile, a gunicorn config) and the configuration file are read only when
    they are regular files, like the Python files."""
    project.write("app/db.py", NAIVE)
    project.write("app/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    for name in ("Procfile", "docker-compose.yml", "Dockerfile", "gunicorn.conf.py"):
        os.mkfifo(project.root / name)
    result = check("--output-format", "json", "--extend-select", "POL112", ".", cwd=project.root)
    assert ("app/db.py", "POL101") in {(f[0], f[1]) for f in found(result)}
    os.mkfifo(project.root / "pool-lint.toml")
    named = check("--config", "pool-lint.toml", ".", cwd=project.root)
    assert named.returncode == 2 and "not a regular file (a FIFO)" in named.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_link_to_dev_zero_is_not_a_regular_file(project):
    project.write("app/db.py", NAIVE)
    os.symlink("/dev/zero", project.root / "app" / "zero.py")
    for args in (["."], ["app/zero.py"], ["--fix", "."]):
        result = check("--output-format", "json", *args, cwd=project.root)
        assert ("app/zero.py", "POL001", "cannot read: not a regular file (a character device)") in found(result)
        assert "Traceback" not in result.stderr and result.returncode == 1
    assert os.path.islink(project.root / "app" / "zero.py")


def test_a_file_above_the_cap_is_too_large_and_one_at_the_cap_is_checked(project):
    from pool_lint.files import MAX_BYTES

    project.write("app/big.py", NAIVE + "#" * (MAX_BYTES - len(NAIVE)) + "\n")  # one byte over
    project.write("app/edge.py", NAIVE + "#" * (MAX_BYTES - len(NAIVE) - 1) + "\n")  # exactly the cap
    result = check("--output-format", "json", "--select", "POL001,POL101", ".", cwd=project.root)
    assert found(result) == [
        ("app/big.py", "POL001", f"cannot read: too large ({MAX_BYTES + 1:,} bytes; the limit is {MAX_BYTES:,})"),
        ("app/edge.py", "POL101", found(result)[1][2]),
    ]
    # Standard input has the same cap, and is read no further than it.
    piped = check("--output-format", "json", "-", cwd=project.root, input=NAIVE + "#" * MAX_BYTES)
    assert [f[1:] for f in found(piped)] == [("POL001", f"cannot read: too large ({MAX_BYTES + 1:,} bytes; "
                                                         f"the limit is {MAX_BYTES:,})")]


def test_read_regular_reads_no_more_than_the_cap(tmp_path):
    from pool_lint.files import NotReadable, read_regular

    path = tmp_path / "x.py"
    path.write_bytes(b"x = 1\n" * 10)
    assert read_regular(path) == b"x = 1\n" * 10
    with pytest.raises(NotReadable, match="too large"):
        read_regular(path, limit=59)
    assert read_regular(path, limit=60) == b"x = 1\n" * 10
    os.symlink(path, tmp_path / "link.py")
    assert read_regular(tmp_path / "link.py") == path.read_bytes()
    with pytest.raises(NotReadable, match="a symbolic link"):
        read_regular(tmp_path / "link.py", follow=False)
    with pytest.raises(NotReadable, match="a folder"):
        read_regular(tmp_path)



@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_read_regular_of_a_listed_file_still_checks_what_it_opened(tmp_path, monkeypatch):
    """`listed=True` (the discovery saw a regular file: the scan's paths) makes no stat
    before the open; what was opened is still checked: a FIFO or a folder put in the
    file's place is not read (and the FIFO, opened without blocking, does not hang)."""
    from pool_lint import files
    from pool_lint.files import NotReadable, read_regular

    stats = []
    real_stat = os.stat
    monkeypatch.setattr(files.os, "stat", lambda path, *a, **k: stats.append(path) or real_stat(path, *a, **k))
    path = tmp_path / "x.py"
    path.write_bytes(b"x = 1\n" * 10)
    assert read_regular(path, listed=True) == b"x = 1\n" * 10
    assert stats == []
    with pytest.raises(NotReadable, match="too large"):
        read_regular(path, limit=59, listed=True)
    os.mkfifo(tmp_path / "pipe.py")  # nobody writes it: a blocking open would wait for ever
    with pytest.raises(NotReadable, match="a FIFO"):
        read_regular(tmp_path / "pipe.py", listed=True)
    with pytest.raises(NotReadable, match="a folder|Is a directory"):
        read_regular(tmp_path, listed=True)
    assert stats == []
    assert read_regular(path) == path.read_bytes() and stats == [path]


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 200_000])
def test_read_regular_reads_a_file_whole_whatever_its_size(tmp_path, size):
    """One read of more than the file's size gets all of it (a regular file reads short
    only at its end): the bytes are the file's, at every size around a read's chunk."""
    from pool_lint.files import read_regular

    path = tmp_path / "x.py"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    assert read_regular(path) == data
    assert read_regular(path, listed=True) == data


# -- symbolic links -------------------------------------------------------------------------
def test_a_link_that_leaves_the_root_is_neither_read_nor_written(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "theirs.py"
    outside.write_text(NAIVE)
    project.write("app/db.py", "x = 1\n")
    link = project.root / "app" / "theirs.py"
    os.symlink(outside, link)
    warning = f"pool-lint: warning: skipped app/theirs.py: a symbolic link to {os.path.realpath(outside)}, " \
              f"outside the checked root {os.path.realpath(project.root)} (neither read nor fixed)"
    for args in ([], ["--fix"], ["--unsafe-fixes", "--fix"]):
        result = check(*args, "--output-format", "json", ".", cwd=project.root)
        assert found(result) == [] and result.returncode == 0
        assert warning in result.stderr.splitlines()
    named = check("--fix", "app/theirs.py", cwd=project.root)
    assert "outside the checked root" in named.stderr and named.returncode == 0
    assert outside.read_text() == NAIVE  # untouched
    assert os.path.islink(link) and os.readlink(link) == str(outside)  # still the same link


def test_a_link_inside_the_root_is_fixed_at_its_target_and_stays_a_link(project):
    target = project.write("app/db.py", NAIVE)
    os.chmod(target, 0o750)
    os.symlink("db.py", project.root / "app" / "alias.py")
    os.symlink("app/db.py", project.root / "lib.py")
    result = check("--fix", ".", cwd=project.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert target.read_text() == FIXED
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o750  # the file's mode is kept
    assert os.readlink(project.root / "app" / "alias.py") == "db.py"
    assert os.readlink(project.root / "lib.py") == "app/db.py"
    assert "skipped" not in result.stderr


def test_fix_keeps_the_mode_of_a_plain_file(project):
    for name, mode in (("app/run.py", 0o755), ("app/private.py", 0o600), ("app/sticky.py", 0o2775)):
        os.chmod(project.write(name, NAIVE), mode)
    assert check("--fix", ".", cwd=project.root).returncode == 0
    for name, mode in (("app/run.py", 0o755), ("app/private.py", 0o600), ("app/sticky.py", 0o2775)):
        path = project.root / name
        assert path.read_text() == FIXED and stat.S_IMODE(os.lstat(path).st_mode) == mode, name


def test_a_folder_link_is_not_entered(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "theirs.py").write_text(NAIVE)
    os.symlink(outside, project.root / "vendor")
    project.write("app/db.py", "x = 1\n")
    result = check("--fix", "--output-format", "json", ".", cwd=project.root)
    assert found(result) == [] and (outside / "theirs.py").read_text() == NAIVE


# -- unreadable folders --------------------------------------------------------------------
def _without_privileges():
    """A command prefix that runs without the capabilities that let root read any folder
    (setpriv drops them), or None where there is no way to."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    probe = subprocess.run([setpriv, "--inh-caps=-all", "--bounding-set=-all", "true"], capture_output=True)
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all"] if probe.returncode == 0 else None


def test_an_unreadable_folder_is_a_warning_that_names_it(project):
    prefix = _without_privileges()
    if prefix is None:
        pytest.skip("running as root without setpriv: every folder is readable")
    project.write("app/db.py", NAIVE)
    project.write("app/secret/hidden.py", NAIVE)
    secret = project.root / "app" / "secret"
    os.chmod(secret, 0)
    try:
        result = subprocess.run([*prefix, sys.executable, "-m", "pool_lint", "check", "--no-cache",
                                 "--output-format", "json", "."], cwd=project.root, capture_output=True,
                                text=True, timeout=TIMEOUT)
    finally:
        os.chmod(secret, 0o755)
    assert "pool-lint: warning: cannot read the folder app/secret: Permission denied; its files were not checked" \
        in result.stderr.splitlines(), result.stderr
    assert files_of(result) == ["app/db.py"] and result.returncode == 1  # the run went on


# -- file selection: excludes --------------------------------------------------------------
def test_exclude_and_extend_exclude_on_the_command_line(project):
    for name in ("app/db.py", "app/gen/models.py", "scripts/once.py", "venv/lib.py"):
        project.write(name, NAIVE)
    assert files_of(check("--output-format", "json", "--extend-exclude", "app/gen,once.py", ".",
                          cwd=project.root)) == ["app/db.py"]
    # --exclude replaces the list, the default excludes with it (as ruff's).
    assert files_of(check("--output-format", "json", "--exclude", "scripts", ".", cwd=project.root)) == \
        ["app/db.py", "app/gen/models.py", "venv/lib.py"]
    # Globs are relative to the configuration's folder, also when a subfolder is walked.
    project.write("pyproject.toml", "[tool.pool-lint]\nextend-exclude = ['app/gen']\n")
    assert files_of(check("--output-format", "json", "app", cwd=project.root)) == ["app/db.py"]
    assert files_of(check("--output-format", "json", ".", cwd=project.root / "app")) == ["db.py"]


def test_force_exclude_holds_for_files_named_on_the_command_line(project):
    project.write("app/db.py", NAIVE)
    project.write("app/gen/models.py", NAIVE)
    project.write("pyproject.toml", "[tool.pool-lint]\nruntime = 'server'\nextend-exclude = ['app/gen']\n")
    named = ("app/db.py", "app/gen/models.py")
    assert files_of(check("--output-format", "json", *named, cwd=project.root)) == list(named)  # as ruff
    assert files_of(check("--output-format", "json", "--force-exclude", *named, cwd=project.root)) == ["app/db.py"]
    assert files_of(check("--output-format", "json", "--force-exclude", "--extend-exclude", "db.py", *named,
                          cwd=project.root)) == []
    # Standard input named after an excluded file: --fix passes it on unchanged.
    piped = check("--fix", "--force-exclude", "--stdin-filename", "app/gen/models.py", "-", cwd=project.root,
                  input=NAIVE)
    assert piped.stdout == NAIVE and piped.returncode == 0
    fixed = check("--fix", "--force-exclude", "--stdin-filename", "app/db.py", "-", cwd=project.root, input=NAIVE)
    assert fixed.stdout == FIXED


def test_the_pre_commit_hooks_force_the_excludes():
    from conftest import REPO

    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    entries = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("entry:")]
    assert entries == ["pool-lint check --force-exclude", "pool-lint check --force-exclude --fix"]


# -- file selection: .gitignore --------------------------------------------------------------
def _git_project(project):
    (project.root / ".git").mkdir()
    project.write(".gitignore", "generated/\n*_pb2.py\n")
    project.write("app/.gitignore", "local_settings.py\n/scratch.py\n")
    project.write("app/sub/.gitignore", "*.py\n!keep.py\n")
    for name in ("app/db.py", "app/users_pb2.py", "app/local_settings.py", "app/scratch.py", "app/deep/scratch.py",
                 "app/sub/keep.py", "app/sub/drop.py", "generated/models.py", "tools/local_settings.py"):
        project.write(name, NAIVE)


def test_gitignore_is_respected_nested_and_negated(project):
    _git_project(project)
    kept = ["app/db.py", "app/deep/scratch.py", "app/sub/keep.py", "tools/local_settings.py"]
    assert files_of(check("--output-format", "json", ".", cwd=project.root)) == kept
    assert files_of(check("--output-format", "json", "--respect-gitignore", ".", cwd=project.root)) == kept
    # The .gitignore files above a walked folder hold too.
    assert files_of(check("--output-format", "json", "app/sub", cwd=project.root)) == ["app/sub/keep.py"]
    everything = sorted(["app/users_pb2.py", "app/local_settings.py", "app/scratch.py", "app/sub/drop.py",
                         "generated/models.py", *kept])
    assert files_of(check("--output-format", "json", "--no-respect-gitignore", ".", cwd=project.root)) == everything
    project.write("pyproject.toml", "[tool.pool-lint]\nrespect-gitignore = false\n")
    assert files_of(check("--output-format", "json", ".", cwd=project.root)) == everything
    assert files_of(check("--output-format", "json", "--respect-gitignore", ".", cwd=project.root)) == kept


def test_gitignore_as_ruff_applies_it(project):
    """Only inside a git work tree; a folder or file named on the command line is
    checked even where git ignores it; .git/info/exclude counts."""
    _git_project(project)
    shutil.rmtree(project.root / ".git")
    assert len(files_of(check("--output-format", "json", ".", cwd=project.root))) == 9  # not a work tree
    (project.root / ".git" / "info").mkdir(parents=True)
    (project.root / ".git" / "info" / "exclude").write_text("# git's own comments\ntools/\n")
    assert files_of(check("--output-format", "json", ".", cwd=project.root)) == \
        ["app/db.py", "app/deep/scratch.py", "app/sub/keep.py"]
    assert files_of(check("--output-format", "json", "generated", "app/users_pb2.py", cwd=project.root)) == \
        ["app/users_pb2.py", "generated/models.py"]
    assert files_of(check("--output-format", "json", "--force-exclude", "app/users_pb2.py",
                          cwd=project.root)) == ["app/users_pb2.py"]


def test_config_rejects_a_respect_gitignore_that_is_not_a_bool(project):
    project.write("app/db.py", NAIVE)
    project.write("pyproject.toml", "[tool.pool-lint]\nrespect-gitignore = 'yes'\n")
    result = run_cli("check", ".", cwd=project.root)
    assert result.returncode == 2 and "respect-gitignore: expected true or false" in result.stderr


def test_pathspec_is_imported_only_where_a_gitignore_is(project):
    project.write("app/util.py", "import os\n")
    script = ("import sys\nfrom pool_lint.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print('pathspec' in sys.modules)\n")

    def imports_pathspec() -> bool:
        done = subprocess.run([sys.executable, "-c", script, "check", "--no-cache", "."], cwd=project.root,
                              capture_output=True, text=True, timeout=TIMEOUT)
        return done.stdout.splitlines()[-1] == "True"

    (project.root / ".git").mkdir()
    assert not imports_pathspec()
    project.write(".gitignore", "# nothing ignored yet\n\n")
    assert not imports_pathspec()
    project.write(".gitignore", "build/\n")
    assert imports_pathspec()


def test_write_fixes_never_writes_through_a_link_that_appeared_after_the_read(tmp_path):
    """The write path checks again: a file that became a link since it was read, or a
    link that points elsewhere now, is not written (the run reports it and goes on)."""
    from pool_lint.files import Target
    from pool_lint.findings import FileResult
    from pool_lint.runner import write_fixes

    outside = tmp_path / "outside.py"
    outside.write_text(NAIVE)
    plain, link = tmp_path / "root" / "plain.py", tmp_path / "root" / "link.py"
    plain.parent.mkdir()
    plain.write_text(NAIVE)
    os.symlink(outside, link)
    targets = {"plain.py": Target(str(plain), "plain.py"),
               "link.py": Target(str(link), "link.py", real=str(plain))}  # vetted when it pointed at plain.py
    os.unlink(plain)
    os.symlink(outside, plain)
    results = [FileResult("plain.py", [], fixed_text=FIXED), FileResult("link.py", [], fixed_text=FIXED)]
    errors = write_fixes(results, targets)
    assert [e.split(":")[0] for e in errors] == ["plain.py", "link.py"]
    assert outside.read_text() == NAIVE and os.path.islink(plain) and os.path.islink(link)


def test_read_regular_goes_on_after_a_read_short_of_the_end(tmp_path, monkeypatch):
    """A read() may return less than asked before the end (FUSE with direct I/O, a file
    that changes meanwhile): read_regular stops at a short read only where it has the
    size the open file's stat gave, else it reads on to an empty read."""
    from pool_lint import files
    from pool_lint.files import read_regular

    path = tmp_path / "x.py"
    data = b"x = 1\n" * 5000
    path.write_bytes(data)
    real_read = os.read
    monkeypatch.setattr(files.os, "read", lambda fd, size: real_read(fd, min(size, 1000)))
    assert read_regular(path) == data
    assert read_regular(path, listed=True) == data
