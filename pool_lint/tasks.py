"""What the worker processes do (and this process, for small batches): the scan and the
analysis of one file, the per-process state they need, and `Workers`, which hands a
stage's items out in chunks to one pool of processes for the whole run (forked once,
reused by every stage).

The checker (and with it the rules and the analysis layer) is imported and built only
where a file is analysed: a warm run that the cache answers never loads it.
"""
from __future__ import annotations

import gc
import os
import sys
from typing import List, NamedTuple, Optional, Sequence, Tuple

from .analysis.text import digest
from .config import Settings
from .files import project_root, read_or_none, read_regular
from .findings import FileResult, unreadable
from .analysis.roles import is_test_relative
from .analysis.runtime import evidence_bits
from .screen import (ENGINE, SESSION, FileFacts, closed_off, external_words, facts_and_tops, module_level,
                     project_imports)
from .analysis.statements import layout

PARALLEL_THRESHOLD = 48  # below this many files, worker start-up costs more than it saves
CHUNK = 16
PROGRESSIVE = 3  # files the index has made final, sent to the workers together


class RunOptions(NamedTuple):
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    jobs: Optional[int] = None
    use_cache: bool = True
    screen: bool = True


# -- per process state -------------------------------------------------------------------
_SETTINGS: Optional[Settings] = None
_CHECKER = None  # checker.Checker
_OPTIONS: Optional[RunOptions] = None
_CONFIGURED = frozenset()  # screen.external_words of the settings


def _init_worker(settings: Settings, options: RunOptions) -> None:
    global _SETTINGS, _CHECKER, _OPTIONS, _CONFIGURED
    _SETTINGS, _CHECKER, _OPTIONS = settings, None, options
    _CONFIGURED = external_words(settings.external_calls)
    # A run is short and its trees live until the end: the cyclic collector would walk
    # every tree again and again for nothing (it cost a third of a cold run).
    gc.disable()


def _checker():
    global _CHECKER
    if _CHECKER is None:
        from .checker import Checker

        _CHECKER = Checker(_SETTINGS)
    return _CHECKER


def _warm_up() -> None:
    _checker()


class Scan(NamedTuple):
    """What the cheap stage learns of one file from its bytes alone (a tuple: ten
    thousand of them come back from the workers)."""

    content: Optional[str]  # content hash; None when unreadable, or when neither a cache nor `statements` asks for it
    facts: Optional[FileFacts]  # what the screen needs (screen.file_facts)
    ebits: int = 0  # which runtime evidence the file may hold (runtime.evidence_bits)
    error: Optional[str] = None
    size: int = 0  # bytes: what analysing it may cost
    statements: Optional[list] = None  # statements.layout of it, for the index (not cached)
    parts: Optional[tuple] = None  # screen.module_level of them, for the index (not cached)
    imports: Optional[tuple] = None  # screen.project_imports of it, for the index (not cached)


def _scan(job: Tuple[str, str, str]) -> Scan:
    """Stage 2, for one file: read, hash, screen, runtime evidence; and, here in
    parallel, what the project index would work out first: the imports that may load a
    project file and, for the files it reads first, their module-level statements."""
    return scan_of(_plain_scan(job))


def _plain_scan(job: Tuple[str, str, str]) -> tuple:
    """_scan's Scan as a plain tuple, its facts too (scan_of makes the Scan of it): ten
    thousand of them cross a pipe, and a tuple of a class of its own costs a Python call
    each way."""
    path, rel, root = job
    try:
        # A regular file of at most files.MAX_BYTES, never blocking (every path of the scan
        # is one the discovery saw as a regular file: its look before the open is made).
        data = read_regular(path, listed=True)
    except OSError as exc:
        return (None, None, 0, exc.strerror or str(exc), 0, None, None, None)
    # In test code where no rule fires (SPEC 3), the file's own words are not looked for
    # (screen.UNREAD): the index reads them only if code outside the tests imports from it
    # (Index._read_again). Its imports are read: runtime evidence may stand in a test.
    # (screen.is_test_code of the path: `rel` is its path below `root`.)
    test = not _SETTINGS.check_tests and _OPTIONS.screen and bool(root) and is_test_relative(rel)
    facts, imported = facts_and_tops(data, _CONFIGURED, words=not test)
    ebits = evidence_bits(rel, data, imported) if rel and _SETTINGS.runtime == "auto" else 0
    # The statements the project index will read first (files that make or name a session
    # or an engine), split here, in parallel, rather than there. Not those of test code
    # where no rule fires in it: the index reads a test file only if code outside the
    # tests imports from it (screen.Index._needed), and lays it out then. A file that
    # calls out and names neither is read by the index only if a session source imports
    # it, directly or through others: those another file imports are laid out in the
    # workers after the scan (stages.Deferred), the rest never.
    # Nor those whose session words can name no SQLAlchemy session (screen.closed_off:
    # the index takes them as naming none).
    tops = _TOPS.get(root)
    imports = project_imports(facts, tops) if tops is not None else None
    bits = facts[0]
    statements = layout(data) if not test and (bits & ENGINE or bits & SESSION and not (
        imports is not None and closed_off(bits, facts[1], imports[0]))) else None
    # The content hash also tells the analysis whether the bytes it reads are those laid
    # out here (_analyse: their layout spares it tokenizing them again).
    return (digest(data) if _OPTIONS.use_cache or statements is not None else None, tuple(facts), ebits, None,
            len(data), statements, module_level(statements) if statements is not None else None, imports)


# Per project root of the run, the names an absolute import can reach a project file by
# (screen.names_in_paths): set before the worker pool is forked, which inherits them (or
# sent to each worker, `Workers.share_tops`, when it was forked to check the cache first).
_TOPS: dict = {}


def share_tops(tops: dict) -> None:
    """Set `_TOPS` (root -> screen.names_in_paths) for the scans: in this process before
    the pool forks (Workers.share_tops sends it to a pool that exists already)."""
    _TOPS.clear()
    _TOPS.update(tops)


def _hash_chunk(paths) -> list:
    """(content hash, size) of each file, (None, 0) for one that cannot be read (or that
    the scan would not read: files.read_regular): what the cache's entries are checked
    against (no stat is trusted)."""
    out = []
    for path in paths:
        data = read_or_none(path, listed=True)  # (the discovery's files: Layout.all_paths)
        out.append((digest(data), len(data)) if data is not None else (None, 0))
    return out


# The files `Workers.hash_files` hands out: set before the pool is forked, which inherits
# them (a task names only its slice: ten thousand paths would not fit a pipe, and the
# worker would wait for the rest of its task until this process came back to it).
_HASHING: list = []


def _hash_slice(bounds: Tuple[int, int]) -> list:
    return _hash_chunk(_HASHING[bounds[0]:bounds[1]])


def _analyse(work) -> FileResult:
    """Stage 4, for one kept file: parse, analyse, run the rules (and fix). `work`:
    (target, plan, known), the plan being what the project index lets fire in it, and
    where; `known`: (content hash, statements.heads) of the file as the scan laid it out,
    or None: where the bytes read now are those, the lazy parse need not tokenize them."""
    target, plan, known = work
    checker, options = _checker(), _OPTIONS
    try:
        data = read_regular(target.file)
    except OSError as exc:
        return FileResult(target.display, [unreadable(target.display, f"cannot read: {exc.strerror or exc}")])
    heads = known[1] if known is not None and digest(data) == known[0] else None
    # The edits of the fixes to offer are made in one process (fixes.settle): the worker
    # given the files that can offer one (_analyse_settle_chunk), or the main process.
    fix = options.fix or options.diff
    return _guarded(target.display, lambda: checker.check_bytes(
        data, target.display, target.path, checker.project(project_root(target.path)),
        fix=fix, unsafe=options.unsafe_fixes, plan=plan, defer_fixes=not fix, heads=heads))


def _guarded(display: str, check) -> FileResult:
    """`check()`, or where an internal error (a bug of pool-lint) stops it, a result that
    leaves the file unchecked and says so: the run goes on with the other files."""
    try:
        return check()
    except Exception as exc:
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        return FileResult(display, crashed=True, error=(
            f"{display}: internal error, the file was not checked: {type(exc).__name__}: {exc}{where} "
            f"(please report it)"))


def _know_heads(entries) -> None:
    """Tell this process's analysis the heads of modules laid out elsewhere
    (analysis/project.py, know_heads): Workers.share_heads."""
    from .analysis.project import know_heads

    know_heads(entries)


def _layout_chunk(paths) -> list:
    """statements.layout of each file, None where it cannot be read, decoded or
    tokenized (as screen.Index lays one out): stages.Deferred."""
    out = []
    for path in paths:
        data = read_or_none(path)
        out.append(layout(data) if data is not None else None)
    return out


def _scan_chunk(jobs):
    """_scan of each job, as plain tuples (_plain_scan)."""
    return [_plain_scan(job) for job in jobs]


def scan_of(plain: tuple) -> Scan:
    """The Scan of _plain_scan's tuple."""
    facts = plain[1]
    return tuple.__new__(Scan, (plain[0], tuple.__new__(FileFacts, facts) if facts is not None else None) + plain[2:])


def _analyse_chunk(work):
    verdicts, targets = work
    _checker().use_verdicts(verdicts)
    return [_analyse(t) for t in targets]


def _analyse_settle_chunk(work):
    """_analyse_chunk, and the edits of the fixes its results offer made here
    (fixes.settle, as the main process would make them): the files that can offer one
    go to one worker (stages.Analyses._send), which loads LibCST for the run while the
    main process makes the project index."""
    out = _analyse_chunk(work)
    for result in out:
        if result.offers is not None:
            from .fixes import settle

            settle(result)
    return out


class Workers:
    """Runs a stage in this process for small batches, in worker processes otherwise
    (one pool for the whole run: forked once, reused by both stages)."""

    def __init__(self, jobs: int, settings: Settings, options: RunOptions):
        self.jobs, self.settings, self.options = jobs, settings, options
        self.pool = None  # a workers.ForkedPool (or _Executor), made on first use
        _init_worker(settings, options)

    def warm_up(self) -> None:
        """Have each worker load the checker while this process does serial work."""
        if self.pool is not None:
            self.pool.each(_warm_up)

    def share_heads(self, entries: tuple) -> None:
        """Have every process that analyses files know these (path, content hash,
        statements.heads) of modules laid out elsewhere: each worker, after the tasks
        it holds, or this process when it analyses the files itself."""
        if not entries:
            return
        if self.pool is not None:
            self.pool.each(_know_heads, entries)
        else:
            _know_heads(entries)

    def hash_files(self, paths: list):
        """Start reading and hashing `paths` (_hash_chunk) and return at once: call the
        result for (content hash, size) per path, in order. In forked workers, one slice
        each, so that each does all its work while this process reads the cache (with
        several, a worker would wait, its first results filling the pipe, until this
        process reads them); where the workers would not be forked (started afresh by
        concurrent.futures, they would cost more than they save), or on a small tree,
        in this process when the result is called."""
        if self.jobs <= 1 or len(paths) < PARALLEL_THRESHOLD or not _forks() or isinstance(self.pool, _Executor):
            return lambda: _hash_chunk(paths)
        global _HASHING
        inherited = self.pool is None
        if inherited:
            _HASHING = paths
            self.pool = _pool(self.jobs, self.settings, self.options)
        size = -(-len(paths) // self.jobs)
        bounds = [(at, min(at + size, len(paths))) for at in range(0, len(paths), size)]
        tasks = [self.pool.submit(_hash_slice, b, worker=i) if inherited else
                 self.pool.submit(_hash_chunk, paths[b[0]:b[1]], worker=i) for i, b in enumerate(bounds)]

        def collect() -> list:
            global _HASHING
            out: list = []
            for task in tasks:
                out += self.pool.result(task)
            _HASHING = []
            return out

        return collect

    def share_tops(self, tops: dict) -> None:
        """Set `_TOPS` here and in the workers: inherited by a pool forked later, sent
        to one that exists already (forked to hash the files for the cache)."""
        share_tops(tops)
        if self.pool is not None and tops:
            self.pool.each(share_tops, dict(tops))

    def start(self, chunk_fn, items: list, shared=None, costs: Optional[Sequence[int]] = None,
              groups: Optional[Sequence[str]] = None, pinned: Optional[Sequence[int]] = None):
        """Start `chunk_fn` and return at once: call the result to wait for the results.

        `chunk_fn` runs over chunks of `items` (results in the order of `items`); with
        `shared`, each chunk is (shared, chunk). With `costs` (an estimate per item) and
        `groups` (items that share work, such as the modules they load, share a group),
        chunks keep a group together up to a cost budget and go out costliest first, so
        that no worker is left alone with the big files at the end. A pool that exists
        already takes any batch. With `pinned` (worker indexes), the chunks go to those
        workers in turn, costliest first (ForkedPool.submit), not to whichever is free."""
        threshold = 1 if self.pool is not None else PARALLEL_THRESHOLD
        if self.jobs <= 1 or len(items) < threshold:
            def serial(each=None) -> list:
                out = chunk_fn((shared, items)) if shared is not None else chunk_fn(items)
                if each is not None:
                    for i, result in enumerate(out):
                        each(i, result)
                return out

            return serial
        if self.pool is None:
            self.pool = _pool(self.jobs, self.settings, self.options)
        if costs is not None:
            orders = _balanced(costs, groups or [""] * len(items), self.jobs)
        else:
            size = max(CHUNK, len(items) // (self.jobs * 8) or 1)
            orders = [list(range(at, min(at + size, len(items)))) for at in range(0, len(items), size)]
        chunks = [[items[i] for i in order] for order in orders]
        if shared is not None:
            chunks = [(shared, chunk) for chunk in chunks]
        tasks = [self.pool.submit(chunk_fn, chunk, worker=pinned[k % len(pinned)] if pinned else None)
                 for k, chunk in enumerate(chunks)]
        parts = (self.pool.result(task) for task in tasks)

        def collect(each=None) -> list:
            """The results, in the order of `items`; `each(i, result)` is called as
            each part comes back."""
            out: list = [None] * len(items)
            for order, part in zip(orders, parts):
                for i, result in zip(order, part):
                    out[i] = result
                    if each is not None:
                        each(i, result)
            return out

        return collect

    def forked(self) -> bool:
        """Do the stages run in forked workers (workers.ForkedPool) now?"""
        return self.pool is not None and not isinstance(self.pool, _Executor)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None


def _pool(jobs: int, settings: Settings, options: RunOptions):
    """Worker processes: forked (workers.ForkedPool), or started by concurrent.futures
    where there is no fork, and on macOS, where forking a process that may have loaded
    system frameworks is unsafe (Python's own default there is to spawn)."""
    if _forks():
        from .workers import ForkedPool

        return ForkedPool(jobs, _init_worker, (settings, options))
    return _Executor(jobs, settings, options)


_USE_EXECUTOR = False  # tests run both kinds of pool


def _forks() -> bool:
    """Are the worker processes forked from this one (workers.ForkedPool)?"""
    return hasattr(os, "fork") and sys.platform != "darwin" and not _USE_EXECUTOR


class _Executor:
    """ForkedPool's calls on a concurrent.futures.ProcessPoolExecutor."""

    def __init__(self, jobs: int, settings: Settings, options: RunOptions):
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = jobs
        self.executor = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(settings, options))

    def submit(self, fn, arg=None, worker: Optional[int] = None):
        # The executor cannot address a worker (`worker` is ignored).
        return self.executor.submit(fn, arg) if arg is not None else self.executor.submit(fn)

    def each(self, fn, arg=None, count: Optional[int] = None) -> None:
        # The executor cannot address a worker: one task per worker, wherever they run.
        for _ in range(count or self.jobs):
            self.submit(fn, arg)

    def result(self, future):
        return future.result()

    def shutdown(self) -> None:
        self.executor.shutdown()




def _balanced(costs: Sequence[int], groups: Sequence[str], jobs: int) -> List[List[int]]:
    """Chunks of item indices: each group's items together, cut at a cost budget (an
    eighth of a worker's share), the costliest chunks first."""
    budget = max(1, sum(costs) // (jobs * 8))
    by_group: dict = {}
    for i, group in enumerate(groups):
        by_group.setdefault(group, []).append(i)
    chunks: List[Tuple[int, List[int]]] = []
    for members in by_group.values():
        current, total = [], 0
        for i in members:
            if current and total + costs[i] > budget:
                chunks.append((total, current))
                current, total = [], 0
            current.append(i)
            total += costs[i]
        chunks.append((total, current))
    chunks.sort(key=lambda chunk: -chunk[0])
    return [members for _, members in chunks]
