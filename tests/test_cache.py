"""The cache is plain data, checked when read, and keyed by content (SPEC 5, Safety).

It lives in the checked project, where a repository can plant any file: whatever bytes it
finds there, nothing runs, nothing crashes, one line of warning names the file, and the
findings are those of `--no-cache`.
"""
from __future__ import annotations

import copy
import json
import os
import pickle
import random

import pytest

from conftest import run_cli
from pool_lint.cache import key_path, sign, user_key, verified_body

SETTINGS = "RECYCLE = 100\n"
DB = ("from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n"
      "from app.settings import RECYCLE\n\n"
      "engine = create_engine(URL, pool_recycle=RECYCLE, pool_pre_ping=False)\n"
      "SessionLocal = sessionmaker(bind=engine)\n")
ROUTES = ("import httpx\nfrom fastapi import Depends\n\nfrom app.db import SessionLocal\n\n\n"
          "def get_db():\n    with SessionLocal() as db:\n        yield db\n\n\n"
          "def pay(db=Depends(get_db)):\n    db.execute('select 1')\n    httpx.post('https://payments.example.com')\n\n\n"
          "def leak():\n    session = SessionLocal()\n    session.execute('select 1')\n")
MAIN = ("import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n"
        "if __name__ == '__main__':\n    uvicorn.run(app)\n")


def write_service(project):
    """A project whose cache holds every kind of stored structure: screen facts, runtime
    evidence, findings with fixes, dependencies, a runtime verdict, plans, a root index."""
    project.write("pyproject.toml", "[project]\nname = 'demo'\n")  # runtime detected: evidence cached
    project.write("app/__init__.py", "")
    project.write("app/settings.py", SETTINGS)
    project.write("app/db.py", DB)
    project.write("app/routes.py", ROUTES)
    project.write("app/main.py", MAIN)


def check(root, *extra, timeout=60):
    result = run_cli("check", "--output-format", "json", *extra, ".", cwd=root, timeout=timeout)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    found = sorted((f["filename"], f["location"]["row"], f["location"]["column"], f["code"], f["message"])
                   for f in json.loads(result.stdout))
    return found, result.stderr


def cache_file(root):
    (path,) = (root / ".pool_lint_cache").glob("*.json")
    return path


def warnings_about(stderr, path):
    return [line for line in stderr.splitlines() if "warning" in line and str(path) in line]


@pytest.fixture
def service(project):
    write_service(project)
    reference, _ = check(project.root, "--no-cache")
    assert {f[3] for f in reference} >= {"POL101", "POL103", "POL201", "POL203"}
    found, stderr = check(project.root)  # fills the cache
    assert found == reference and stderr == ""
    project.reference = reference
    project.cache = cache_file(project.root)
    project.signed = project.cache.read_bytes()
    # The JSON body, and a way to plant a document as if it were signed with this user's
    # key (the worst case: everything after the signature is checked all the same).
    project.valid = verified_body(project.signed, user_key())
    project.sign = lambda body: sign(body, user_key())
    return project


class Boom:
    """Unpickled, this creates the file `marker` (what a planted cache could run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_the_pickle_payload_of_these_tests_would_run(tmp_path):
    """The control: unpickling the payload does create its marker."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Boom(marker))).close()
    assert marker.exists()


def _hostile_documents(valid: dict):
    """Valid JSON that is not a valid cache: each a wrong type or shape somewhere."""
    entries = valid["entries"]
    analysed = next(p for p, e in entries.items() if e[4])  # an entry with findings
    with_fix = next(p for p, e in entries.items() if e[4] and e[4][0][9] is not None)
    with_evidence = next(p for p, e in entries.items() if e[3])
    root = next(iter(valid["roots"]))

    def changed(edit):
        document = copy.deepcopy(valid)
        edit(document)
        return document

    def setter(*path_and_value):
        *path, value = path_and_value

        def edit(document):
            node = document
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return edit

    yield "a list, not an object", [valid["entries"]]
    yield "another format", changed(setter("format", valid["format"] - 1))
    yield "the format as a string", changed(setter("format", str(valid["format"])))
    yield "no magic", changed(setter("magic", "pickle"))
    yield "another configuration", changed(setter("name", "0" * 32))
    yield "entries as a list", changed(setter("entries", list(entries.values())))
    yield "an entry too short", changed(setter("entries", analysed, entries[analysed][:7]))
    yield "a content hash as a number", changed(setter("entries", analysed, 0, 12345))
    yield "screen bits as true", changed(setter("entries", analysed, 1, 0, True))
    yield "screen bits negative", changed(setter("entries", analysed, 1, 0, -1))
    yield "screen bits as a float", changed(setter("entries", analysed, 1, 0, 1.5))
    yield "screen facts too long", changed(setter("entries", analysed, 1, entries[analysed][1] + [""]))
    yield "an import without its local name", changed(setter("entries", analysed, 1, 1, "sqlalchemy|create_engine"))
    yield "an import split by a tab", changed(setter("entries", analysed, 1, 1, "a|b|c\td|e"))
    yield "imports as a list", changed(setter("entries", analysed, 1, 1, ["sqlalchemy|create_engine|create_engine"]))
    yield "evidence bits as a string", changed(setter("entries", analysed, 2, "6"))
    yield "evidence of an unknown kind", changed(setter("entries", with_evidence, 3, 0, 0, "cloud"))
    yield "evidence as an object", changed(setter("entries", with_evidence, 3, {"server": "x"}))
    yield "findings as an object", changed(setter("entries", analysed, 4, {"POL101": 1}))
    yield "a finding's row as a string", changed(setter("entries", analysed, 4, 0, 5, "6"))
    yield "a finding's row negative", changed(setter("entries", analysed, 4, 0, 5, -6))
    yield "a finding's code as null", changed(setter("entries", analysed, 4, 0, 0, None))
    yield "a column past any file", changed(setter("entries", analysed, 4, 0, 6, 1 << 40))
    yield "an unknown severity", changed(setter("entries", analysed, 4, 0, 3, "fatal"))
    yield "a message that cannot be printed", changed(setter("entries", analysed, 4, 0, 2, "\ud800"))
    yield "a finding too short", changed(setter("entries", analysed, 4, 0, entries[analysed][4][0][:10]))
    yield "a span of three", changed(setter("entries", analysed, 4, 0, 10, [6, 6, 6]))
    yield "an unknown applicability", changed(setter("entries", with_fix, 4, 0, 9, 0, "maybe"))
    yield "an edit without content", changed(setter("entries", with_fix, 4, 0, 9, 2, 0, [6, 65, 6, 70]))
    yield "dependencies as a string", changed(setter("entries", analysed, 5, "app/settings.py"))
    yield "a dependency's hash as a number", changed(setter("entries", analysed, 5, [["/x.py", 7]]))
    yield "a runtime key as a list", changed(setter("entries", analysed, 6, ["server"]))
    yield "a plan too short", changed(setter("entries", analysed, 7, [1, 0]))
    yield "a plan's flag as true", changed(setter("entries", analysed, 7, 0, True))
    yield "a plan's flag as 2", changed(setter("entries", analysed, 7, 1, 2))
    yield "a plan's range of three lines", changed(setter("entries", analysed, 7, 3, [[1, 2, 3]]))
    yield "a plan's range backwards", changed(setter("entries", analysed, 7, 3, [[9, 2]]))
    yield "a plan's range past any file", changed(setter("entries", analysed, 7, 3, [[1, 1 << 40]]))
    yield "a plan's ranges as an object", changed(setter("entries", analysed, 7, 4, {"1": 2}))
    yield "a root index as an object", changed(setter("roots", root, {"key": "x"}))
    yield "a root's engines as a string", changed(setter("roots", root, 2, "yes"))
    yield "a root's plan as null", changed(lambda d: d["roots"][root][3].update({analysed: None}))
    yield "a root's plan with a flag as false", changed(
        lambda d: d["roots"][root][3].update({analysed: [False, 0, [], [], []]}))
    yield "a root's screened files as a string", changed(setter("roots", root, 1, "app/db.py"))


def _hostile_files(service, marker):
    valid = json.loads(service.valid)
    yield "pickle", pickle.dumps(Boom(marker))
    yield "pickle inside a JSON string", json.dumps({"magic": pickle.dumps(Boom(marker)).decode("latin-1")}).encode()
    yield "empty", b""
    yield "truncated", service.valid[:len(service.valid) // 2]
    yield "truncated by one byte", service.valid[:-1]
    yield "random bytes", random.Random(13).randbytes(4096)
    yield "not UTF-8", b'{"magic": "\xff\xfe"}'
    yield "nested too deep", b"[" * 200_000 + b"]" * 200_000
    yield "an integer too long to read", b'{"format": ' + b"9" * 100_000 + b"}"
    yield "NaN", b'{"magic": NaN}'
    for reason, document in _hostile_documents(valid):
        yield reason, json.dumps(document).encode()


def test_hostile_cache_files_run_nothing_and_are_ignored_with_one_warning(service, tmp_path):
    marker = tmp_path / "ran"
    cases = list(_hostile_files(service, marker))
    assert len(cases) > 40
    for reason, data in cases:
        service.cache.write_bytes(service.sign(data))
        found, stderr = check(service.root)
        assert not marker.exists(), reason
        assert found == service.reference, reason
        warnings = warnings_about(stderr, service.cache)
        assert len(warnings) == 1 and "ignoring the cache file" in warnings[0], (reason, stderr)
        assert stderr.count("\n") == 1, (reason, stderr)  # one line, nothing else
        # The run replaced it with a valid cache, which the next run uses without a word.
        assert check(service.root) == (service.reference, ""), reason


def test_the_old_pickle_cache_is_never_read(service, tmp_path):
    """A cache under the name of the pickle format (what pool-lint read before) is not
    opened at all."""
    marker = tmp_path / "ran"
    from pool_lint.cache import FORMAT

    for name in (service.cache.name.replace(f"-{FORMAT}-", f"-{FORMAT - 1}-").replace(".json", ".pickle"),
                 "cache.pickle"):
        (service.cache.parent / name).write_bytes(pickle.dumps(Boom(marker)))
    service.cache.unlink()
    assert check(service.root) == (service.reference, "")
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_cache_that_is_a_fifo_or_a_link_is_not_read(service):
    """Neither waited on (a FIFO nobody writes) nor followed (a link to /dev/zero, or to a
    valid cache elsewhere)."""
    elsewhere = service.root / "elsewhere.json"
    elsewhere.write_bytes(service.signed)
    for make in (os.mkfifo, lambda path: os.symlink("/dev/zero", path), lambda path: os.symlink(elsewhere, path)):
        service.cache.unlink()
        make(service.cache)
        found, stderr = check(service.root, timeout=30)
        assert found == service.reference
        assert len(warnings_about(stderr, service.cache)) == 1, stderr


def test_a_cache_folder_that_is_a_link_is_neither_read_nor_written(service, tmp_path):
    outside = tmp_path / "outside"
    (service.root / ".pool_lint_cache").rename(outside)
    (service.root / ".pool_lint_cache").symlink_to(outside)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    service.write("app/db.py", DB.replace("pool_pre_ping=False", "pool_pre_ping=True"))
    found, stderr = check(service.root)
    assert found == check(service.root, "--no-cache")[0]
    assert "symbolic link" in stderr
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


def test_a_dependency_edited_to_the_same_size_and_time_is_noticed(service):
    """The stat of a file says nothing: `app/settings.py` edited to the same size, its
    modification time put back to the nanosecond, still re-checks `app/db.py`."""
    settings = service.root / "app/settings.py"
    before = settings.stat()
    settings.write_text(SETTINGS.replace("100", "900"))
    os.utime(settings, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = settings.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    found, _ = check(service.root)
    assert found == check(service.root, "--no-cache")[0]
    assert "POL103" in {f[3] for f in service.reference} and "POL103" not in {f[3] for f in found}


def test_a_file_edited_to_the_same_size_and_time_is_noticed(service):
    db = service.root / "app/db.py"
    before = db.stat()
    db.write_text(DB.replace("pool_pre_ping=False", "pool_pre_ping=True "))
    os.utime(db, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (db.stat().st_size, db.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    found, _ = check(service.root)
    assert found == check(service.root, "--no-cache")[0]
    assert "POL101" in {f[3] for f in service.reference} and "POL101" not in {f[3] for f in found}


def test_a_touched_file_with_the_same_bytes_is_answered_by_the_cache(service):
    """The other way round: a new modification time alone re-checks nothing (the content
    hash matches), and the cache is not even rewritten."""
    os.utime(service.root / "app/db.py", ns=(1, 1))
    os.utime(service.root / "app/settings.py", ns=(1, 1))
    written = service.cache.stat().st_mtime_ns
    assert check(service.root) == (service.reference, "")
    assert service.cache.stat().st_mtime_ns == written


# -- the converters, in process -----------------------------------------------------------------
def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, path + (i,))
        if not node:
            yield path, node
    else:
        yield path, node


def test_every_stored_structure_comes_back_as_it_was(service):
    from pool_lint.analysis.runtime import Evidence
    from pool_lint.cache import decode, encode
    from pool_lint.findings import Edit, Finding, Fix
    from pool_lint.plan import Plan
    from pool_lint.screen import FileFacts

    raw = json.loads(service.valid)
    entries, roots = decode(raw, raw["name"])
    assert json.loads(json.dumps(encode(entries, roots, raw["name"]))) == raw
    assert all(type(e.facts) is FileFacts for e in entries.values())
    findings = [f for e in entries.values() for f in e.findings or ()]
    assert findings and all(type(f) is Finding and type(f.span) is tuple for f in findings)
    fixes = [f.fix for f in findings if f.fix is not None]
    assert fixes and all(type(x) is Fix and all(type(e) is Edit for e in x.edits) for x in fixes)
    assert any(e.evidence for e in entries.values())
    assert all(type(x) is Evidence for e in entries.values() for x in e.evidence or ())
    assert any(e.deps for e in entries.values()) and any(e.plan for e in entries.values())
    plans = [e.plan for e in entries.values() if e.plan is not None] + [p for r in roots.values() for p in r[3].values()]
    assert plans and all(type(p) is Plan for p in plans)
    assert all(type(flag) is bool for p in plans for flag in (*p[:2], p.flask))
    assert all(type(ranges) is tuple and all(type(r) is tuple for r in ranges) for p in plans for ranges in p[2:5])


def test_the_screen_facts_of_real_files_survive_the_cache():
    """FileFacts as the screen makes it today (the converter is written against its
    fields: if it changes shape, this fails first)."""
    from pathlib import Path

    from pool_lint.cache import _decode_facts, encode_facts
    from pool_lint.screen import facts_and_tops

    package = Path(__file__).resolve().parents[1] / "pool_lint"
    for path in sorted(package.rglob("*.py")) + sorted(Path(__file__).parent.glob("*.py")):
        facts, _ = facts_and_tops(path.read_bytes(), frozenset())
        back = _decode_facts(json.loads(json.dumps(encode_facts(facts))))
        assert back == facts and type(back) is type(facts) and back.imports == facts.imports, path


def test_a_wrong_leaf_anywhere_is_refused_or_kept_exactly(service):
    """Every leaf of a real cache, replaced by a value of each JSON type: the decoder
    either refuses the document (Invalid) or gives back exactly what it holds."""
    from pool_lint.cache import Invalid, decode, encode

    raw = json.loads(service.valid)
    replacements = [None, True, -1, 7, 1.5, "x", "\ud800", [], [1], {}, {"k": 1}]
    refused = kept = 0
    for path, old in _leaves(raw):
        for value in replacements:
            if type(value) is type(old) and value == old:
                continue
            document = copy.deepcopy(raw)
            node = document
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            try:
                entries, roots = decode(document, raw["name"])
            except Invalid:
                refused += 1
                continue
            kept += 1
            assert json.loads(json.dumps(encode(entries, roots, raw["name"]))) == document, (path, value)
    assert refused > 10 * kept > 0


def test_damaged_bytes_never_raise(service):
    """Bytes changed at random in a real cache file: reading it returns, always (with a
    warning, or with a document that validated)."""
    from pool_lint.cache import Cache

    rng = random.Random(5)
    name = json.loads(service.valid)["name"]
    for _ in range(300):
        data = bytearray(service.signed)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        service.cache.write_bytes(bytes(data))
        cache = Cache.load(service.cache, name)
        assert cache.warnings or cache.entries
        assert not (cache.warnings and (cache.entries or cache.roots))


def test_the_warning_repeats_nothing_of_the_file(project):
    """No text of the file itself reaches the warning."""
    write_service(project)
    check(project.root)
    path = cache_file(project.root)
    path.write_bytes(sign(json.dumps({"magic": "pool-lint cache\nfake: line"}).encode(), user_key()))
    _, stderr = check(project.root)
    assert len(stderr.splitlines()) == 1 and "fake" not in stderr


def test_the_cache_is_not_written_through_a_planted_link(service, tmp_path):
    """The temporary file of the cache's atomic write has a name the repository can
    guess (this process's id): a link planted there is replaced, not written through."""
    from pool_lint.cache import Cache

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    raw = json.loads(service.valid)
    cache = Cache.load(service.cache, raw["name"])
    assert cache.entries and not cache.warnings
    temp = service.cache.parent / f".{service.cache.name}.{os.getpid()}.pool-lint"
    temp.symlink_to(victim)
    cache.dirty = True
    cache.save()
    assert cache.warnings == []
    assert victim.read_text() == "precious\n"
    assert not os.path.lexists(temp)
    assert json.loads(verified_body(service.cache.read_bytes(), user_key())) == raw


def test_workers_check_the_cache_of_a_larger_tree(service):
    """With enough files, worker processes read and hash them while the cache is read:
    the same answers, for unchanged files, for a dependency edited to the same size and
    time, and for a new file (scanned by the workers forked to check the cache)."""
    for i in range(60):
        service.write(f"app/util_{i}.py", f"def helper_{i}(x):\n    return [y * {i} for y in x]\n")
    reference, _ = check(service.root, "--no-cache", "--jobs", "2")
    assert check(service.root, "--jobs", "2") == (reference, "")  # fills the cache
    assert check(service.root, "--jobs", "2") == (reference, "")  # answered by it
    settings = service.root / "app/settings.py"
    before = settings.stat()
    settings.write_text(SETTINGS.replace("100", "900"))
    os.utime(settings, ns=(before.st_atime_ns, before.st_mtime_ns))
    service.write("app/jobs.py", "import httpx\nfrom app.db import SessionLocal\n\n\ndef job():\n"
                                 "    with SessionLocal() as db:\n        db.flush()\n        httpx.get('https://x')\n")
    found, stderr = check(service.root, "--jobs", "2")
    assert found == check(service.root, "--no-cache", "--jobs", "2")[0] and stderr == ""
    assert ("app/jobs.py", 8, 9) in {f[:3] for f in found} and "POL103" not in {f[3] for f in found}


@pytest.mark.parametrize("executor", [False, True])
def test_either_kind_of_pool_checks_the_cache(service, monkeypatch, executor):
    """Forked workers hash the files while the cache is read; with concurrent.futures
    (no fork), this process does: the same findings, warm and after a same-size edit."""
    from pool_lint import runner, tasks
    from pool_lint.config import Settings
    from pool_lint.files import discover

    monkeypatch.setattr(tasks, "_USE_EXECUTOR", executor)
    for i in range(60):
        service.write(f"app/util_{i}.py", f"def helper_{i}(x):\n    return [y * {i} for y in x]\n")
    settings = Settings()

    def found(use_cache=True):
        targets, _ = discover([str(service.root)], settings)
        result = runner.run(targets, settings, runner.RunOptions(jobs=2, use_cache=use_cache), service.root)
        assert not result.warnings
        return sorted((f.filename, f.row, f.code) for f in result.findings)

    reference = found(use_cache=False)
    assert found() == reference and found() == reference
    settings_file = service.root / "app/settings.py"
    before = settings_file.stat()
    settings_file.write_text(SETTINGS.replace("100", "900"))
    os.utime(settings_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert found() == found(use_cache=False) != reference


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_dependencies_a_cache_names_are_read_only_inside_the_project_and_if_regular(service):
    """A well-formed cache can name any path as a dependency: one outside the project is
    not read (the entry is not valid), and one inside is read only if it is a regular
    file (a FIFO is not waited on, a link to /dev/zero not followed)."""
    raw = json.loads(service.valid)
    os.mkfifo(service.root / "pipe")
    os.symlink("/dev/zero", service.root / "zero")
    for dep in ("/dev/zero", str(service.root / "pipe"), str(service.root / "zero"), "relative/path.py"):
        document = copy.deepcopy(raw)
        for entry in document["entries"].values():
            if entry[4]:
                entry[5] = [[dep, "0" * 32]]
        service.cache.write_bytes(service.sign(json.dumps(document).encode()))
        assert check(service.root, timeout=60) == (service.reference, ""), dep


def test_a_dependency_reached_by_dots_or_through_a_linked_folder_is_never_read(service, tmp_path_factory, monkeypatch):
    """A dependency is read only at a real path of the project: `..` that climbs out of
    it, or a folder inside it that is a link to one outside, is not read at all (the
    entry is not valid), while a real file of the project is."""
    from pool_lint import cache as cache_module
    from pool_lint.cache import Cache, Entry
    from pool_lint.files import root_of_file

    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.py").write_text("TOKEN = 1\n")
    (service.root / "linked").symlink_to(outside)
    root = str(root_of_file(str(service.root / "app" / "db.py")))
    read = []
    real_read = cache_module.read_regular
    monkeypatch.setattr(cache_module, "read_regular", lambda path, *a, **k: read.append(str(path)) or real_read(
        path, *a, **k))
    cache = Cache(None)
    climb = os.path.relpath(outside, os.path.join(root, "app"))
    assert climb.startswith("..")
    planted = (os.path.join(root, "app", climb, "secret.py"), os.path.join(root, "linked", "secret.py"),
               str(outside / "secret.py"), "relative/secret.py")
    for dep in planted:
        entry = Entry("0" * 32, deps=((dep, cache_module.digest(b"TOKEN = 1\n")),))
        assert not cache.deps_valid(entry, root), dep
    assert read == []
    settings = os.path.join(root, "app", "settings.py")
    entry = Entry("0" * 32, deps=((settings, cache_module.digest(SETTINGS.encode())),))
    assert cache.deps_valid(entry, root) and read == [settings]


def _no_findings(document):
    """A well-formed cache that says every file has no finding: what a repository
    could commit to hide its findings from whoever checks it."""
    forged = copy.deepcopy(document)
    for entry in forged["entries"].values():
        if entry[4]:
            entry[4] = []
    return json.dumps(forged).encode()


def test_a_well_formed_cache_without_this_users_signature_is_ignored(service):
    """The forged "no findings" cache is ignored, whether unsigned, signed with another
    key, or with its signature copied from the real cache; signed with the user's own key
    it would be believed, which is why that key lives outside every project."""
    forged = _no_findings(json.loads(service.valid))
    other_key = bytes(range(32))
    head = service.signed.partition(b"\n")[0]
    for reason, data in [("unsigned", forged), ("another key", sign(forged, other_key)),
                         ("the real cache's signature line", head + b"\n" + forged),
                         ("the real cache, signed with another key", sign(service.valid, other_key))]:
        service.cache.write_bytes(data)
        found, stderr = check(service.root)
        assert found == service.reference, reason
        warnings = warnings_about(stderr, service.cache)
        assert len(warnings) == 1 and "ignoring the cache file" in warnings[0], (reason, stderr)
    service.cache.write_bytes(service.sign(forged))  # the control: the forgery itself is well formed
    found, _ = check(service.root)
    assert found != service.reference and not [f for f in found if f[3] != "POL001" and f[0] == "app/db.py"]


def test_the_key_lives_outside_the_project_and_is_the_users_alone(service):
    path = key_path()
    assert not path.startswith(str(service.root))
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert len(open(path, "rb").read()) == 32


def test_without_a_key_there_is_no_cache_and_the_findings_are_the_same(project, tmp_path):
    write_service(project)
    reference, _ = check(project.root, "--no-cache")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # XDG_CACHE_HOME under a file: no key can be made there
    result = run_cli("check", "--output-format", "json", ".", cwd=project.root,
                     env={"XDG_CACHE_HOME": str(blocked / "cache")})
    found = sorted((f["filename"], f["location"]["row"], f["location"]["column"], f["code"], f["message"])
                   for f in json.loads(result.stdout))
    assert found == reference
    assert "no cache this run" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not list(project.root.glob(".pool_lint_cache/*.json"))  # nothing unsigned written either
