"""The checking pipeline of a run: discover files, screen their bytes, analyse the
candidates (in parallel), merge the results in a deterministic order, write fixes.

    files -> screen (bytes) -> parse + analyse (ast) -> rules -> findings -> reporters
"""
from __future__ import annotations

import gc
import io
import os
import sys
import tempfile
import tokenize
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .cache import Cache, Entry, digest, stat_of
from .checker import Checker, FileResult, unreadable
from .config import Settings
from .files import Target, discover, project_root
from .screen import may_hold_finding

PARALLEL_THRESHOLD = 48  # below this many files, worker start-up costs more than it saves
CHUNK = 16


@dataclass
class RunOptions:
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    jobs: Optional[int] = None
    use_cache: bool = True
    screen: bool = True


@dataclass
class RunResult:
    results: List[FileResult] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    files_seen: int = 0
    files_analysed: int = 0

    @property
    def findings(self):
        return [f for r in self.results for f in r.findings]


# -- per process state -------------------------------------------------------------------
_CHECKER: Optional[Checker] = None


def _init_worker(settings: Settings) -> None:
    global _CHECKER
    _CHECKER = Checker(settings)
    # A run is short and its trees live until the end: the cyclic collector would walk
    # every tree again and again for nothing (it cost a third of a cold run).
    gc.disable()


def _check_one(target: Target, options: RunOptions) -> Tuple[Optional[FileResult], bool, Optional[str]]:
    """(result, analysed?, content hash) for one file."""
    checker = _CHECKER
    assert checker is not None
    if target.missing:
        return FileResult(target.display, [unreadable(target.display, f"cannot read: {target.missing}")]), False, None
    try:
        data = target.path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return FileResult(target.display, [unreadable(target.display, f"cannot read: {reason}")]), False, None
    if options.screen and not may_hold_finding(data):
        return None, False, digest(data)
    project = checker.project(project_root(target.path))
    want_fix = options.fix or options.diff
    return checker.check_bytes(data, target.display, target.path, project, fix=want_fix,
                               unsafe=options.unsafe_fixes), True, digest(data)


def _check_chunk(chunk: Sequence[Target], options: RunOptions):
    return [_check_one(target, options) for target in chunk]


def run(targets: Sequence[Target], settings: Settings, options: RunOptions,
        cache_folder: Optional[Path] = None) -> RunResult:
    result = RunResult(files_seen=len(targets))
    jobs = options.jobs or os.cpu_count() or 1
    cache = None
    if options.use_cache and not (options.fix or options.diff) and cache_folder is not None:
        cache = Cache.open(cache_folder, settings.cache_key() + f"\0screen={options.screen}")
    todo: List[Target] = []
    hits: List[FileResult] = []
    stats = {}
    for target in targets:
        if cache is None or target.missing or target.path is None:
            todo.append(target)
            continue
        key = os.path.abspath(target.path)
        stats[key] = stat_of(target.path)
        entry, _ = cache.lookup(key, stats[key], lambda: _read(target.path))
        if entry is not None and (not entry.runtime or _runtime_now(target, settings) == entry.runtime):
            hits.append(FileResult(target.display, [replace(f, filename=target.display) for f in entry.findings]))
        else:
            todo.append(target)
    outcomes: List[Tuple[Optional[FileResult], bool, Optional[str]]] = []
    if jobs <= 1 or len(todo) < PARALLEL_THRESHOLD:
        _init_worker(settings)
        outcomes = [_check_one(t, options) for t in todo]
    else:
        chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(settings,)) as pool:
            for part in pool.map(_check_chunk, chunks, [options] * len(chunks)):
                outcomes.extend(part)
    for target, (file_result, analysed, content) in zip(todo, outcomes):
        result.files_analysed += analysed
        if file_result is not None:
            result.results.append(file_result)
        if cache is not None and content is not None:
            _remember(cache, target, stats.get(os.path.abspath(target.path)), content, file_result)
    result.results += [r for r in hits if r.findings]
    result.results.sort(key=lambda r: r.filename)
    if cache is not None:
        cache.save()
        result.warnings += cache.warnings
    return result


def _read(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _runtime_now(target: Target, settings: Settings) -> str:
    from .analysis.runtime import detect_runtime

    return detect_runtime(project_root(target.path), settings.runtime).describe()


def _remember(cache: Cache, target: Target, stat, content: str, file_result: Optional[FileResult]) -> None:
    if stat is None or stat_of(target.path) != stat:
        return  # changed while we read it: do not trust
    if file_result is not None and (file_result.error or any(f.code == "POL001" for f in file_result.findings)):
        return  # unreadable files are retried every run
    findings = file_result.findings if file_result else []
    deps = tuple((dep, stat_of(Path(dep))) for dep in (file_result.deps if file_result else ()))
    cache.store(os.path.abspath(target.path), Entry(stat, content, findings, deps,
                                                  file_result.runtime if file_result else ""))


# -- standard input ------------------------------------------------------------------------
def run_stdin(data: bytes, target: Target, settings: Settings, options: RunOptions) -> FileResult:
    checker = Checker(settings)
    path = target.path
    root = project_root(path if path is not None else Path.cwd() / "stdin.py")
    return checker.check_bytes(data, target.display, path if path and path.exists() else None,
                               checker.project(root), fix=options.fix or options.diff,
                               unsafe=options.unsafe_fixes)


# -- writing fixes -------------------------------------------------------------------------
def encode_like(original: bytes, text: str) -> bytes:
    """Encode fixed text as the original was (its encoding cookie or BOM)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    return text.encode(encoding)


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename; keep the mode."""
    folder = path.parent
    mode = path.stat().st_mode
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pool-lint", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def write_fixes(results: Sequence[FileResult], targets_by_name) -> List[str]:
    """Write every changed file; returns error messages (the run goes on)."""
    errors = []
    for r in results:
        if r.fixed_text is None:
            continue
        target = targets_by_name.get(r.filename)
        if target is None or target.path is None:
            continue
        try:
            original = target.path.read_bytes()
            write_atomically(target.path, encode_like(original, r.fixed_text))
        except (OSError, UnicodeEncodeError) as exc:
            errors.append(f"{r.filename}: could not write the fix: {exc}")
    return errors


def discover_targets(paths: Sequence[str], settings: Settings, stdin_filename: Optional[str]):
    return discover(paths, settings, stdin_filename)


def out(text: str, stream=None) -> None:
    (stream or sys.stdout).write(text)
