"""The checking pipeline of a run: discover files, screen their bytes, analyse the
candidates (in parallel), merge the results in a deterministic order, write fixes.

    files -> screen (bytes) -> parse + analyse (ast) -> rules -> findings -> reporters
"""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence, Tuple

from .cache import Cache, digest, stat_of
from .findings import FileResult, unreadable
from .config import Settings
from .files import Listing, Target, discover, project_root, root_of_file, write_atomically
from .selection import enabled_codes
from .analysis.runtime import evidence_bits
from .screen import (ALL_RANGES, ASYNC, CREATE, ENGINE, EXT, SESSION, TASKS, FileFacts, Index, ModuleFinder,
                     external_words, facts_and_tops, families_of, is_test_code, may_hold, module_level, names_in_paths,
                     project_imports, read_file)
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


class RunResult:
    __slots__ = ("results", "warnings", "files_seen", "files_analysed")

    def __init__(self, results: Optional[List[FileResult]] = None, warnings: Optional[List[str]] = None,
                 files_seen: int = 0, files_analysed: int = 0):
        self.results: List[FileResult] = results if results is not None else []
        self.warnings: List[str] = warnings if warnings is not None else []
        self.files_seen, self.files_analysed = files_seen, files_analysed

    @property
    def findings(self):
        return [f for r in self.results for f in r.findings]


# -- per process state -------------------------------------------------------------------
# The checker (and with it the rules and the analysis layer) is imported and built only
# where a file is analysed: a warm run that the cache answers never loads it.
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


def _preload(groups) -> None:
    """Have this worker parse (lazily), whenever it has no task, the project modules
    the analyses are likely to consult: `groups`, (root, paths) pairs. Done while it
    waits for the project index, it spares the analyses that follow the time (a module
    read once serves them all)."""
    from .workers import when_idle

    checker = _checker()
    todo = [(checker.project(Path(root)), path) for root, paths in groups for path in paths]
    todo.reverse()

    def step() -> bool:
        if todo:
            project, path = todo.pop()
            project.load(path)
        return bool(todo)

    when_idle(step)


class Scan(NamedTuple):
    """What the cheap stage learns of one file from its bytes alone (a tuple: ten
    thousand of them come back from the workers)."""

    stat: Optional[tuple]
    content: Optional[str]  # content hash; None when unreadable, or when no cache asks for it
    facts: Optional[FileFacts]  # what the screen needs (screen.file_facts)
    ebits: int = 0  # which runtime evidence the file may hold (runtime.evidence_bits)
    error: Optional[str] = None
    size: int = 0  # bytes: what analysing it may cost
    statements: Optional[list] = None  # statements.layout of it, for the index (not cached)
    parts: Optional[tuple] = None  # screen.module_level of them, for the index (not cached)
    imports: Optional[tuple] = None  # screen.project_imports of it, for the index (not cached)


def _scan(job: Tuple[str, str, str]) -> Scan:
    """Stage 1, for one file: read, hash, screen, runtime evidence; and, here in
    parallel, what the project index would work out first: the imports that may load a
    project file and, for the files it reads first, their module-level statements."""
    path, rel, root = job
    stat = stat_of(path) if _OPTIONS.use_cache else None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return Scan(stat, None, None, 0, exc.strerror or str(exc))
    facts, imported = facts_and_tops(data, _CONFIGURED)
    ebits = evidence_bits(rel, data, imported) if rel and _SETTINGS.runtime == "auto" else 0
    # The statements the project index will read first (files that make or name a session
    # or an engine, or call out), split here, in parallel, rather than there.
    statements = layout(data) if facts.bits & (SESSION | ENGINE | EXT) else None
    tops = _TOPS.get(root)
    return Scan(stat, digest(data) if _OPTIONS.use_cache else None, facts, ebits, size=len(data),
                statements=statements, imports=project_imports(facts, tops) if tops is not None else None,
                parts=module_level(statements) if statements is not None else None)


# Per project root of the run, the names an absolute import can reach a project file by
# (screen.names_in_paths): set before the worker pool is forked, which inherits them.
_TOPS: dict = {}


def _analyse(work) -> FileResult:
    """Stage 2, for one screened file: parse, analyse, run the rules (and fix). `work`:
    (target, hint), the hint being where the index says a session rule can fire."""
    target, hint = work
    checker, options = _checker(), _OPTIONS
    try:
        data = target.path.read_bytes()
    except OSError as exc:
        return FileResult(target.display, [unreadable(target.display, f"cannot read: {exc.strerror or exc}")])
    return _guarded(target.display, lambda: checker.check_bytes(
        data, target.display, target.path, checker.project(project_root(target.path)),
        fix=options.fix or options.diff, unsafe=options.unsafe_fixes, hint=hint))


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


def _scan_chunk(jobs):
    return [_scan(job) for job in jobs]


def _analyse_chunk(work):
    verdicts, targets = work
    _checker().use_verdicts(verdicts)
    return [_analyse(t) for t in targets]


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

    def preload(self, likely) -> None:
        """Have workers parse the project modules `likely()` names (_preload) while they
        wait: as many workers as there are cores this process leaves free while it makes
        the index (more would slow the index itself). Not with the executor, whose
        workers have no idle time to fill."""
        if self.pool is not None and not isinstance(self.pool, _Executor):
            groups = likely()
            if groups:
                self.pool.each(_preload, groups, count=max(1, min(self.jobs, os.cpu_count() or 1) - 1))

    def start(self, chunk_fn, items: list, shared=None, costs: Optional[Sequence[int]] = None,
              groups: Optional[Sequence[str]] = None):
        """Start `chunk_fn` and return at once: call the result to wait for the results.

        `chunk_fn` runs over chunks of `items` (results in the order of `items`); with
        `shared`, each chunk is (shared, chunk). With `costs` (an estimate per item) and
        `groups` (items that share work, such as the modules they load, share a group),
        chunks keep a group together up to a cost budget and go out costliest first, so
        that no worker is left alone with the big files at the end. A pool that exists
        already takes any batch."""
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
        tasks = [self.pool.submit(chunk_fn, chunk) for chunk in chunks]
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

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None


def _pool(jobs: int, settings: Settings, options: RunOptions):
    """Worker processes: forked (workers.ForkedPool), or started by concurrent.futures
    where there is no fork, and on macOS, where forking a process that may have loaded
    system frameworks is unsafe (Python's own default there is to spawn)."""
    if hasattr(os, "fork") and sys.platform != "darwin" and not _USE_EXECUTOR:
        from .workers import ForkedPool

        return ForkedPool(jobs, _init_worker, (settings, options))
    return _Executor(jobs, settings, options)


_USE_EXECUTOR = False  # tests run both kinds of pool


class _Executor:
    """ForkedPool's calls on a concurrent.futures.ProcessPoolExecutor."""

    def __init__(self, jobs: int, settings: Settings, options: RunOptions):
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = jobs
        self.executor = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(settings, options))

    def submit(self, fn, arg=None):
        return self.executor.submit(fn, arg) if arg is not None else self.executor.submit(fn)

    def each(self, fn, arg=None, count: Optional[int] = None) -> None:
        # The executor cannot address a worker: one task per worker, wherever they run.
        for _ in range(count or self.jobs):
            self.submit(fn, arg)

    def result(self, future):
        return future.result()

    def shutdown(self) -> None:
        self.executor.shutdown()


def run(targets: Sequence[Target], settings: Settings, options: RunOptions,
        cache_folder: Optional[Path] = None, listing: Optional[Listing] = None) -> RunResult:
    """Check the targets.

    1. The scan reads every Python file of each project root once, in the workers
       (cached by content): the screen's facts, the runtime evidence bits, and for the
       index the statements and project imports of the files it reads first.
    2. Files their own bytes choose (engine factory, async session maker) start their
       analysis while the project index works out the rest and where in each kept file
       a session rule can fire; the runtime verdict is made where an engine can be.
    3. The other kept files without a valid cached result are analysed, with the hints:
       a few at a time as the index makes their hint final, the rest as soon as their
       root's index is done.
    Results come back in a deterministic order (sorted by file name). `listing`: the
    folders the discovery of the targets listed (files.discover), walked again here."""
    from .analysis import runtime

    result = RunResult(files_seen=len(targets))
    cache = None
    if options.use_cache and not (options.fix or options.diff) and cache_folder is not None:
        cache = Cache.open(cache_folder, settings.cache_key() + f"\0screen={options.screen}")
    workers = Workers(options.jobs or os.cpu_count() or 1, settings, options)
    try:
        files = [t for t in targets if not t.missing and t.file is not None]
        for t in targets:
            if t.missing:
                result.results.append(FileResult(t.display, [unreadable(t.display, f"cannot read: {t.missing}")]))
        absolute = {id(t): t.absolute or os.path.abspath(t.file) for t in files}
        root_of = {id(t): root_of_file(absolute[id(t)]) for t in files}
        # Which Python files each project root holds: its runtime evidence.
        roots = dict.fromkeys(root_of.values())
        rel_of = {}
        for root in roots:
            roots[root] = runtime.python_files(root, listing)
            cut = len(os.path.abspath(root)) + 1
            rel_of.update((p, p[cut:].replace(os.sep, "/")) for p in roots[root])
        # Stage 1: scan what the cache cannot vouch for.
        scans = {}
        wanted = dict.fromkeys(list(absolute.values()) + [p for ps in roots.values() if ps for p in ps])
        todo = []
        for path in wanted:
            entry = cache.valid(path) if cache is not None else None
            if entry is not None:
                scans[path] = Scan(entry.stat, entry.content, entry.facts, entry.ebits, size=entry.stat[1])
            else:
                todo.append(path)
        families = families_of(enabled_codes(settings))
        _TOPS.clear()
        if options.screen and todo:
            _TOPS.update((str(root), names_in_paths(str(root), paths)) for root, paths in roots.items())
        root_path = {p: str(root) for root, paths in roots.items() for p in paths} if _TOPS else {}
        # While the workers scan, this process resolves the project imports they found.
        finders = {root: ModuleFinder(root, set(paths), _TOPS[root]) for root, paths in
                   ((str(root), paths) for root, paths in roots.items()) if root in _TOPS}
        resolved: dict = {}

        def scanned_one(i: int, scan: Scan) -> None:
            path = todo[i]
            scans[path] = scan
            if cache is not None and scan.content is not None:
                cache.update_scan(path, scan.stat, scan.content, scan.facts, scan.ebits)
            finder = finders.get(root_path.get(path)) if scan.imports is not None else None
            if finder is not None:
                resolved[path] = finder.resolve(path, scan.imports[0])

        workers.start(_scan_chunk, [(p, rel_of.get(p, ""), root_path.get(p, "")) for p in todo])(scanned_one)
        workers.warm_up()
        workers.preload(lambda: _likely_modules(roots, scans, resolved))
        verdicts, screened, hints = {}, set(), {}
        walked = set(rel_of)

        def pending(t, hint) -> bool:
            """Does the file need analysing with `hint` (no valid cached result)? Reports
            what the cache or the scan already says. A result made with another hint is
            not valid: the index looks elsewhere now, because another file changed."""
            path = absolute[id(t)]
            scan = scans[path]
            if scan.error:
                result.results.append(FileResult(t.display, [unreadable(t.display, f"cannot read: {scan.error}")]))
                return False
            entry = cache.entries.get(path) if cache is not None else None
            root = root_of[id(t)]
            if entry is not None and entry.findings is not None and entry.hint == hint and \
                    (not entry.runtime or (root in verdicts and entry.runtime == verdicts[root].key())) \
                    and cache.deps_valid(entry):
                result.results.append(FileResult(t.display, [f._replace(filename=t.display) for f in entry.findings]))
                return False
            return True

        used: dict = {}  # path -> the hint its analysis was given

        def start(batch, hint_of):
            work = [(t, hint_of(t)) for t in batch]
            used.update((absolute[id(t)], hint) for t, hint in work)
            sizes = [scans[absolute[id(t)]].size for t in batch]
            # Files of one part of the project (its first two folders) load the same modules.
            packages = [os.sep.join(os.path.relpath(absolute[id(t)], root_of[id(t)]).split(os.sep)[:2])
                        for t in batch]
            return workers.start(_analyse_chunk, work, dict(verdicts), sizes, packages)

        # Files that their own bytes choose (an engine factory or an async session maker:
        # the index always takes them) are analysed while the index works out the rest.
        # Their hint can only be wider than the index's (names imported under another
        # name may add to what they hold): every rule but the engine rules in test code.
        early, early_hints = [], {}
        if options.screen and workers.pool is not None:
            engine_family, async_family = "engine" in families, "async" in families
            for t in files:
                path = absolute[id(t)]
                facts = scans[path].facts
                if scans[path].error or facts is None or path not in walked or \
                        not ((engine_family and facts.bits & ENGINE) or (async_family and facts.bits & ASYNC)):
                    continue
                engine_rules = engine_family and (settings.check_tests or
                                                  not is_test_code(path, str(root_of[id(t)])))
                if (engine_rules and facts.bits & ENGINE) or (async_family and facts.bits & ASYNC):
                    early.append(t)
                    early_hints[path] = (engine_rules, async_family, ALL_RANGES, ALL_RANGES, ALL_RANGES)
            for root in {root_of[id(t)] for t in early}:
                verdicts[root] = _verdict(root, roots[root], scans, rel_of, settings, cache)
        # Every early candidate is settled here: analysed early, or answered by the cache.
        early_paths = {absolute[id(t)] for t in early}
        early = [t for t in early if pending(t, early_hints[absolute[id(t)]])]
        early_results = start(early, lambda t: early_hints[absolute[id(t)]]) if early else list
        # The project index: per root, the files that can hold a finding and, where one of
        # them may build an engine (the only place a rule asks), the runtime verdict, both
        # from what stage 1 found in the bytes. A root's kept files are analysed as soon as
        # its index is made, while the next roots' are (the largest root first).
        batches = [(early, early_results)]
        settled = set(early_paths)  # files analysed, or answered by the cache or the scan
        targets_in = {}
        for t in files:
            targets_in.setdefault(root_of[id(t)], []).append(t)
        ready: list = []

        def send(batch: list) -> None:
            """Analyse a batch of kept files now, each with its hint."""
            if batch:
                batches.append((batch, start(batch, lambda t: hints.get(absolute[id(t)]))))

        def dispatch() -> None:
            send(list(ready))
            ready.clear()

        def final(path: str, hint: tuple) -> None:
            """A file whose hint the index has made final: analysed at once, a few at a
            time, unless the engine rules may fire there (they need the root's runtime
            verdict, made after the index)."""
            t = target_of.get(path)
            if t is None or hint[0] or path in settled:
                return
            settled.add(path)
            hints[path] = hint
            if pending(t, hint):
                ready.append(t)
                if len(ready) >= PROGRESSIVE:
                    dispatch()

        target_of = {absolute[id(t)]: t for t in files if absolute[id(t)] in walked}
        for root, paths in sorted(roots.items(), key=lambda item: -len(item[1] or ())):
            facts = {p: scans[p].facts for p in paths if scans[p].facts is not None}
            if options.screen:
                key = known = None
                if cache is not None:  # the same files with the same contents: the same answer
                    key = digest("\0".join(f"{p}\0{scans[p].content}" for p in paths).encode()
                                 + repr(sorted(families)).encode())
                    known = cache.root_index(str(root), key)
                if known is not None:
                    chosen, engines, found = set(known[0]), known[1], known[2]
                else:
                    index = Index(facts, read_file, families, str(root), _CONFIGURED, settings.check_tests,
                                  {p: scans[p].statements for p in paths if scans[p].statements is not None},
                                  _TOPS.get(str(root)),
                                  {p: scans[p].imports for p in paths if scans[p].imports is not None},
                                  {p: scans[p].parts for p in paths if scans[p].parts is not None},
                                  finders.get(str(root)), resolved)
                    chosen = index.select(final if workers.pool is not None else None)
                    engines = any(index.bits[p] & ENGINE for p in chosen)
                    found = {p: index.hint(p) for p in chosen}
                    if key is not None:
                        cache.update_root_index(str(root), key, chosen, engines, found)
                screened |= chosen
                hints.update(found)
            else:
                engines = any(f.bits & ENGINE for f in facts.values())
            if (engines or settings.runtime != "auto") and root not in verdicts:
                verdicts[root] = _verdict(root, paths, scans, rel_of, settings, cache)
            if options.screen:
                dispatch()
                batch = []
                for t in targets_in.get(root, ()):
                    path = absolute[id(t)]
                    if path in walked and path not in settled and (path in chosen or scans[path].error):
                        settled.add(path)
                        if pending(t, hints.get(path)):
                            batch.append(t)
                send(batch)
        # Files outside every walked root (an excluded folder named explicitly) are judged alone.
        screened |= {p for p in absolute.values()
                     if p not in walked and scans[p].facts is not None and may_hold(scans[p].facts)}
        # Stage 2: analyse the other screened files without a valid cached result.
        analyse = [t for t in files if absolute[id(t)] not in settled
                   and (not options.screen or absolute[id(t)] in screened or scans[absolute[id(t)]].error)
                   and pending(t, hints.get(absolute[id(t)]))]
        send(analyse)
        for t, file_result in [pair for batch, results in batches for pair in zip(batch, results())]:
            result.files_analysed += 1
            result.results.append(file_result)
            # A file that could not be read is asked again next time; one that does not
            # decode or parse gives the same answer for the same bytes (and Python: the
            # cache's key holds its version).
            if cache is not None and not file_result.error and not any(
                    f.code == "POL001" and f.message.startswith("cannot read") for f in file_result.findings):
                cache.update_findings(absolute[id(t)], file_result.findings, file_result.deps,
                                      file_result.runtime, used[absolute[id(t)]])
    finally:
        workers.close()
    result.results = [r for r in result.results if r.findings or r.fixed_text is not None or r.error]
    result.results.sort(key=lambda r: r.filename)
    if cache is not None:
        cache.save()
        result.warnings += cache.warnings
    return result


def _likely_modules(roots, scans, resolved) -> list:
    """(root, project files) pairs: the modules that the files likely to be analysed
    import, the most imported first. Likely to be analysed: a file that names a session
    and an external-call library, a session maker or a task call, or an engine factory
    (its own bytes say so; the index decides)."""
    groups = []
    for root, paths in roots.items():
        counts: dict = {}
        for path in paths or ():
            facts, found = scans[path].facts, resolved.get(path)
            if facts is None or found is None:
                continue
            bits = facts.bits
            if not (bits & ENGINE or (bits & SESSION and bits & (EXT | CREATE | TASKS))):
                continue
            names, modules, stars, name_files = found
            for files in (*name_files.values(), *modules.values(), stars):
                for target in files:
                    counts[target] = counts.get(target, 0) + 1
        if counts:
            groups.append((str(root), sorted(counts, key=lambda p: (-counts[p], p))))
    return groups


def _verdict(root, paths, scans, rel_of, settings: Settings, cache: Optional[Cache]):
    """The runtime verdict of a root, reading (and caching) only the evidence it takes."""
    from .analysis import runtime

    def evidence_of(path: str):
        entry = cache.entries.get(path) if cache is not None else None
        if entry is not None and entry.evidence is not None and entry.content == scans[path].content:
            return entry.evidence
        data = read_file(path)
        found = runtime.code_evidence(rel_of[path], data) if data is not None else ()
        if entry is not None and data is not None and digest(data) == entry.content:
            cache.update_evidence(path, found)
        return found

    files = [(p, scans[p].ebits) for p in paths if scans[p].ebits]
    return runtime.lazy_verdict(root, files, evidence_of, settings.runtime)


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


# -- standard input ------------------------------------------------------------------------
def run_stdin(data: bytes, target: Target, settings: Settings, options: RunOptions) -> FileResult:
    from .checker import Checker

    checker = Checker(settings)
    path = target.path
    root = project_root(path if path is not None else Path.cwd() / "stdin.py")
    return _guarded(target.display, lambda: checker.check_bytes(
        data, target.display, path if path and path.exists() else None, checker.project(root),
        fix=options.fix or options.diff, unsafe=options.unsafe_fixes))


# -- writing fixes -------------------------------------------------------------------------
def encode_like(original: bytes, text: str) -> bytes:
    """Encode fixed text as the original was (its encoding cookie or BOM)."""
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    return text.encode(encoding)


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
            data = encode_like(original, r.fixed_text)
            write_atomically(target.path, lambda handle: handle.write(data), target.path.stat().st_mode)
        except (OSError, UnicodeEncodeError) as exc:
            errors.append(f"{r.filename}: could not write the fix: {exc}")
    return errors


def discover_targets(paths: Sequence[str], settings: Settings, stdin_filename: Optional[str],
                     listing: Optional[Listing] = None):
    return discover(paths, settings, stdin_filename, listing)


def out(text: str, stream=None) -> None:
    (stream or sys.stdout).write(text)
