"""A cache of per-file results, like ruff's: a warm run re-analyses only what changed.

The cache lives in the checked project (`.pool_lint_cache/`), where anyone who can commit
to the repository can plant a file, so it holds plain data only: one JSON document,
read with the standard library's `json` and checked field by field as it is rebuilt
(the converters below, the one place that knows how each stored structure is written;
a plan's shape is plan.py's own, checked by `Plan.from_plain(exact=True)`).
Nothing in it is ever imported, unpickled or evaluated. A cache file that is not a
regular file, is too large, is not JSON, or does not have exactly the expected types and
shapes is ignored as a whole with a one-line warning: the run is then a run without a
cache, and its next write replaces the file.

An entry is keyed by the file's content hash (BLAKE2b of its bytes), and a cache file is
valid for one pool-lint version, one Python version and one configuration (its name
holds all three, and so does its content). Because pool-lint resolves names across the
project, an entry also records the project files its analysis read, with their content
hash, and the runtime verdict it saw: when any of those changed, the entry is stale. No
stat (modification time, size) is trusted: every file a run checks is read anyway, and
its hash comes from those bytes (the scan's, or the check of a cached entry). A hash
recorded at the scan, before the analysis read the file again, errs the safe way: a
file that changed in between has another hash at the next run.

The JSON holds only what pool-lint computed, but a repository can also plant a
well-formed cache whose entries say "no findings" for its files (their content hashes
are easy to compute). So a cache file is signed: its first line is a keyed BLAKE2b of
the rest, under a secret key of the user's own, kept outside every project
(`$XDG_CACHE_HOME/pool-lint/cache-key`, else `~/.cache/pool-lint/cache-key`, made on
first use with mode 0600). A file whose signature does not match is ignored with the
same one-line warning as any other; where no key can be kept, the run has no cache.

An unwritable cache is ignored with a warning, never fatal.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import __version__
from .analysis.runtime import _LABEL as _EVIDENCE_KINDS, Evidence
from .analysis.text import digest
from .files import read_regular, real_and_inside, write_atomically
from .findings import SEVERITIES, Edit, Finding, Fix
from .plan import Plan
from .screen import FileFacts

try:  # CPython's own module: hashlib would load OpenSSL first, at start-up cost
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - another interpreter
    from hashlib import blake2b as _blake2b

CACHE_DIR = ".pool_lint_cache"
FORMAT = 14  # of the entries; part of the cache file's name (9: the last pickle; 14: FileFacts' COMPAT bit)
MAGIC = "pool-lint cache"
MAX_BYTES = 512 << 20  # a larger cache file is not one pool-lint wrote for a project it can check


class Entry:
    """What the cache knows of one file (a slotted class: ten thousand of them load at
    the start of a warm run)."""

    __slots__ = ("content", "facts", "ebits", "evidence", "findings", "deps", "runtime", "plan")

    def __init__(self, content: str, facts: object = None, ebits: int = 0, evidence: Optional[tuple] = None,
                 findings: Optional[list] = None, deps: Tuple[Tuple[str, Optional[str]], ...] = (),
                 runtime: str = "", plan: Optional[Plan] = None):
        self.content = content  # content hash
        self.facts = facts  # what the screen needs (screen.FileFacts)
        self.ebits = ebits  # which runtime evidence the file may hold (runtime.evidence_bits)
        self.evidence = evidence  # the runtime evidence it holds; None: not read yet
        self.findings = findings  # List[Finding]; None: not analysed yet
        self.deps = deps  # other project files the analysis read, with their content hash (None: unreadable)
        self.runtime = runtime  # the runtime verdict the analysis saw (its key; "" when it asked none)
        # What the project index let the analysis do, and where (plan.Plan; None: not
        # analysed). The findings hold for that plan only: what lies outside it was not
        # read, nor what it would have led to in other files (which `deps` cannot name).
        self.plan = plan


# -- converters: every stored structure to plain JSON data and back, checked ----------------------
# Each `_decode_*` takes what json.loads gave and returns the structure, or raises Invalid:
# exact types (`type(x) is int`: JSON's true is not a count), exact lengths, known values.


class Invalid(ValueError):
    """Cache content that does not have the expected shape."""


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise Invalid(what)


def _count(value) -> int:
    _check(type(value) is int and value >= 0, "a count")
    return value


# A row or column (1-based; 0 in a span that names none): below any file's size. Above
# it, `--show-source` would pad a caret line with that many spaces.
MAX_POSITION = 1 << 26


def _position(value) -> int:
    _check(type(value) is int and 0 <= value <= MAX_POSITION, "a position")
    return value


def _key(value) -> str:
    """A string that is only compared or looked up (a path, a hash, a verdict's key)."""
    _check(type(value) is str, "a string")
    return value


def _text(value) -> str:
    """A string that is shown: it must encode (json.loads accepts lone surrogates)."""
    _check(type(value) is str, "a string")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("text that does not encode") from None
    return value


def _array(value, length: Optional[int] = None) -> list:
    _check(type(value) is list and (length is None or len(value) == length), "an array of the expected length")
    return value


# screen.FileFacts: its fields in order, and their types (bits, imports, ext_names). `imports`
# is the screen's `module|name|local` entries joined by spaces (see FileFacts): each has
# exactly two bars.
_FACTS_TYPES = [int, str, str]
_IMPORTS = re.compile(r"(?:[^\s|]*\|[^\s|]*\|[^\s|]*(?: [^\s|]*\|[^\s|]*\|[^\s|]*)*)?")
# What the regular expression says, faster for ASCII text: the bars and the whitespace
# alone must read "|| || ||" (single spaces).
_NOT_SKELETON = bytes(sorted(set(range(128, 256)) | set(range(128)) - set(b"| \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")))


def _imports_ok(text: str) -> bool:
    if not text.isascii():
        return _IMPORTS.fullmatch(text) is not None
    skeleton = text.encode().translate(None, _NOT_SKELETON)
    if not skeleton:
        return not text
    return skeleton + b" " == b"|| " * ((len(skeleton) + 1) // 3)


def encode_facts(facts: FileFacts) -> list:
    return list(facts)


def _decode_facts(raw) -> FileFacts:
    _check(type(raw) is list and [*map(type, raw)] == _FACTS_TYPES and raw[0] >= 0, "screen facts")
    _check(_imports_ok(raw[1]), "the screen's imports")
    return FileFacts(*raw)


def encode_evidence(evidence: Optional[tuple]) -> Optional[list]:
    return None if evidence is None else [list(e) for e in evidence]


def _decode_evidence(raw) -> Optional[tuple]:
    if raw is None:
        return None
    out = []
    for item in _array(raw):
        kind, what = _array(item, 2)
        _check(_key(kind) in _EVIDENCE_KINDS, "a kind of runtime evidence")
        out.append(Evidence(kind, _text(what)))
    return tuple(out)


def encode_findings(findings: Optional[list]) -> Optional[list]:
    if findings is None:
        return None
    return [[*f[:9], None if f.fix is None else [f.fix.applicability, f.fix.message, [list(e) for e in f.fix.edits]],
             list(f.span)] for f in findings]


def _decode_findings(raw) -> Optional[list]:
    if raw is None:
        return None
    out = []
    for item in _array(raw):
        code, name, message, severity, filename, row, column, end_row, end_column, fix, span = _array(item, 11)
        _check(severity in SEVERITIES, "a severity")
        if fix is not None:
            applicability, fix_message, edits = _array(fix, 3)
            _check(applicability in ("safe", "unsafe"), "a fix's applicability")
            fix = Fix(applicability, _text(fix_message), tuple(
                Edit(*map(_position, _array(e, 5)[:4]), _text(e[4])) for e in _array(edits)))
        first, last = _array(span, 2)
        # The file's name is only a placeholder: a run reports the name it walked.
        out.append(Finding(_text(code), _text(name), _text(message), severity, _key(filename), _position(row),
                           _position(column), _position(end_row), _position(end_column), fix,
                           (_position(first), _position(last))))
    return out


def encode_deps(deps: tuple) -> list:
    return [list(dep) for dep in deps]


def _decode_deps(raw) -> tuple:
    out = []
    for item in _array(raw):
        path, content = _array(item, 2)
        out.append((_key(path), None if content is None else _key(content)))
    return tuple(out)


# plan.Plan: plan.py alone knows its shape; `from_plain(exact=True)` refuses anything
# `to_plain` would not have written.
def encode_plan(plan: Optional[Plan]) -> Optional[list]:
    return None if plan is None else plan.to_plain()


def _decode_plan(raw) -> Plan:
    try:
        return Plan.from_plain(raw, exact=True)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def encode_entry(entry: Entry) -> list:
    return [entry.content, encode_facts(entry.facts), entry.ebits, encode_evidence(entry.evidence),
            encode_findings(entry.findings), encode_deps(entry.deps), entry.runtime, encode_plan(entry.plan)]


def _decode_entry(raw) -> Entry:
    content, facts, ebits, evidence, findings, deps, runtime, plan = _array(raw, 8)
    _check(type(content) is str and type(ebits) is int and ebits >= 0 and type(runtime) is str, "an entry")
    # Most entries were never analysed: their last fields are empty.
    return Entry(content, _decode_facts(facts), ebits, None if evidence is None else _decode_evidence(evidence),
                 None if findings is None else _decode_findings(findings),
                 () if deps == [] else _decode_deps(deps), runtime, None if plan is None else _decode_plan(plan))


# Cache.roots: per project root, (key, screened files, whether one may build an engine, plans).
def encode_root(found: tuple) -> list:
    key, screened, engines, plans = found
    return [key, list(screened), engines, {path: plan.to_plain() for path, plan in plans.items()}]


def _decode_root(raw) -> tuple:
    key, screened, engines, plans = _array(raw, 4)
    _check(type(engines) is bool and type(plans) is dict, "a project index")
    return (_key(key), tuple(_key(p) for p in _array(screened)), engines,
            {path: _decode_plan(plan) for path, plan in plans.items()})


def encode(entries: Dict[str, Entry], roots: Dict[str, tuple], name: str) -> dict:
    return {"magic": MAGIC, "format": FORMAT, "version": __version__, "name": name,
            "entries": {path: encode_entry(entry) for path, entry in entries.items()},
            "roots": {root: encode_root(found) for root, found in roots.items()}}


def decode(raw, name: str) -> Tuple[Dict[str, Entry], Dict[str, tuple]]:
    _check(type(raw) is dict and raw.get("magic") == MAGIC, "not a pool-lint cache")
    _check(raw.get("format") == FORMAT and type(raw.get("format")) is int and raw.get("version") == __version__
           and raw.get("name") == name, "written for another version or configuration")
    entries, roots = raw.get("entries"), raw.get("roots")
    _check(type(entries) is dict and type(roots) is dict, "no entries")
    return ({path: _decode_entry(entry) for path, entry in entries.items()},
            {root: _decode_root(found) for root, found in roots.items()})


KEY_BYTES = 32
SIGNATURE = b"pool-lint-signature "  # the first line: this, then the hex signature


def key_path() -> str:
    """Where the user's cache key is kept: outside every project."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pool-lint", "cache-key")


def user_key() -> bytes:
    """The user's secret cache key, made on first use (32 random bytes, mode 0600).
    Raises OSError when it can be neither read nor made."""
    path = key_path()
    for _ in range(2):
        try:
            key = read_regular(path, KEY_BYTES, follow=False)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            key = os.urandom(KEY_BYTES)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:  # made by another run meanwhile: read that one
                continue
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
            return key
        if len(key) != KEY_BYTES:
            raise OSError(f"{path} is not a pool-lint cache key")
        return key
    raise OSError(f"{path} could not be made")  # pragma: no cover - two races in a row


def signature(body: bytes, key: bytes) -> bytes:
    return _blake2b(body, key=key, digest_size=32).hexdigest().encode()


def sign(body: bytes, key: bytes) -> bytes:
    """A cache file's bytes: the signature line, then the JSON body."""
    return SIGNATURE + signature(body, key) + b"\n" + body


def verified_body(data: bytes, key: bytes) -> bytes:
    """The JSON body of a cache file whose signature is this user's; else Invalid."""
    from _operator import _compare_digest  # hmac's own constant-time comparison

    head, newline, body = data.partition(b"\n")
    _check(bool(newline) and head.startswith(SIGNATURE), "it is not signed")
    _check(_compare_digest(head[len(SIGNATURE):], signature(body, key)),
           "its signature is not this user's (planted, or written with another key)")
    return body


def _read_cache_file(path: Path) -> Optional[bytes]:
    """The cache file's bytes; None when there is none. Only a regular file, not followed
    through a symbolic link, not waited for (a FIFO), at most MAX_BYTES (files.read_regular):
    otherwise OSError."""
    try:
        return read_regular(path, MAX_BYTES, follow=False)
    except FileNotFoundError:
        return None


def _dependency_bytes(path: str, root: Optional[str]) -> Optional[bytes]:
    """The bytes of a file an analysis read (a path the cache file may have named): only
    a regular file of the project at `root` (when given), reached through no symbolic
    link (the analysis reads real paths), of at most files.MAX_BYTES (the analysis reads
    no larger one). None for any other: a planted /dev/zero, FIFO or link to one is
    never opened, a path outside the project never read."""
    if root is not None and not real_and_inside(path, root):
        return None
    try:
        return read_regular(path, follow=False)
    except OSError:
        return None


class Cache:
    def __init__(self, path: Optional[Path], name: str = ""):
        self.key: Optional[bytes] = None  # the user's cache key, read once by load
        self.path = path
        self.name = name  # what the cache file is for (version, Python, configuration), digested
        self.entries: Dict[str, Entry] = {}
        # Per project root, the project index's answer: (key, screened files, whether one of
        # them may build an engine, where session rules can fire in each). The key digests
        # every file's path and content hash.
        self.roots: Dict[str, tuple] = {}
        # The content hash of each file this run has read (None: unreadable).
        self.contents: Dict[str, Optional[str]] = {}
        self.dirty = False
        self.warnings: List[str] = []

    @staticmethod
    def _named(folder: Path, settings_key: str) -> Tuple[Path, str]:
        # The parser is the running Python's: its version decides what is a syntax error.
        name = digest(f"{__version__}\0{sys.version_info[:2]}\0{settings_key}".encode())
        return Path(folder) / CACHE_DIR / f"{__version__}-{FORMAT}-{name}.json", name

    @classmethod
    def path_of(cls, folder: Path, settings_key: str) -> Path:
        """Where `open` looks for the cache file."""
        return cls._named(folder, settings_key)[0]

    @classmethod
    def open(cls, folder: Path, settings_key: str) -> "Cache":
        return cls.load(*cls._named(folder, settings_key))

    @classmethod
    def load(cls, path: Path, name: str) -> "Cache":
        """The cache in the file at `path`, written for `name`; empty, with a warning in
        `warnings`, when the file does not validate (whatever it holds, this returns)."""
        cache = cls(path, name)
        try:
            key = cache.key = user_key()
        except OSError as exc:  # no key, no cache: an unsigned cache would be trusted by nobody
            cache.warnings.append(f"no cache this run: the cache key {key_path()} can be neither read nor made "
                                  f"({exc.strerror or exc})")
            cache.path = None
            return cache
        try:
            # Neither read nor written through a link (which may lead out of the project).
            _check(not os.path.islink(path.parent), "its folder is a symbolic link")
            data = _read_cache_file(path)
            if data is not None:
                import json

                body = verified_body(data, key)
                cache.entries, cache.roots = decode(json.loads(body), name)
        except Exception as exc:  # noqa: BLE001 - whatever the bytes: ignore them, start afresh
            if isinstance(exc, Invalid):
                reason = str(exc)
            elif isinstance(exc, OSError):
                reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
            else:  # what json or the converters raised: only its kind (no text of the file)
                reason = f"not a valid cache ({type(exc).__name__})"
            cache.warnings.append(f"ignoring the cache file {path}: {reason}; every file is checked afresh")
            cache.entries, cache.roots = {}, {}
        return cache

    def vouch(self, key: str, content: Optional[str]) -> Optional[Entry]:
        """The entry of a file whose bytes this run read and hashed (`content`; None:
        unreadable), if it was made for those bytes. No stat is trusted."""
        self.contents[key] = content
        entry = self.entries.get(key)
        return entry if entry is not None and content is not None and entry.content == content else None

    def content_of(self, path: str, root: Optional[str] = None) -> Optional[str]:
        """The content hash of a file: the one this run read, or read now (a regular
        file of the project at `root` only, when given: the path may come from the cache
        file; None: not one)."""
        try:
            return self.contents[path]
        except KeyError:
            data = _dependency_bytes(path, root)
            found = self.contents[path] = digest(data) if data is not None else None
            return found

    def deps_valid(self, entry: Entry, root) -> bool:
        """Are the files the entry's analysis read unchanged? They are real files of its
        project (`root`, a real folder): a path elsewhere, or through a link, is not
        read, and the entry is not valid."""
        root = str(root)
        return all(real_and_inside(dep, root) and self.content_of(dep, root) == content
                   for dep, content in entry.deps)

    def update_scan(self, key: str, content: str, facts, ebits: int) -> None:
        self.contents[key] = content
        old = self.entries.get(key)
        if old is not None and old.content == content:
            old.facts, old.ebits = facts, ebits
        else:
            self.entries[key] = Entry(content, facts, ebits)
        self.dirty = True

    def root_index(self, root: str, key: str) -> Optional[tuple]:
        """(screened files, engines, plans) remembered for a root whose files are all
        unchanged."""
        found = self.roots.get(root)
        return found[1:] if found is not None and found[0] == key else None

    def update_root_index(self, root: str, key: str, screened, engines: bool, plans: Dict[str, Plan]) -> None:
        self.roots[root] = (key, tuple(sorted(screened)), engines, dict(plans))
        self.dirty = True

    def update_evidence(self, key: str, evidence: tuple) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            entry.evidence = tuple(evidence)
            self.dirty = True

    def update_findings(self, key: str, findings: list, deps, runtime: str, plan: Optional[Plan] = None) -> None:
        entry = self.entries.get(key)
        if entry is None:
            return
        entry.findings = list(findings)
        entry.deps = tuple((dep, self.content_of(dep)) for dep in deps)
        entry.runtime = runtime
        entry.plan = plan
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        try:
            import json

            folder = self.path.parent
            if os.path.islink(folder):
                raise OSError(f"{folder} is a symbolic link")
            folder.mkdir(parents=True, exist_ok=True)
            ignore = folder / ".gitignore"
            if not os.path.lexists(ignore):
                fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
                with os.fdopen(fd, "w") as handle:
                    handle.write("# Automatically created by pool-lint.\n*\n")
            text = json.dumps(encode(self.entries, self.roots, self.name), separators=(",", ":"),
                              check_circular=False)
            data = sign(text.encode(), self.key or user_key())
            write_atomically(self.path, lambda handle: handle.write(data))
        except (OSError, ValueError, TypeError) as exc:  # TypeError: a structure json cannot write
            self.warnings.append(f"could not write the cache at {self.path}: "
                                 f"{getattr(exc, 'strerror', None) or exc}")
