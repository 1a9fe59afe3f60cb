"""The stages of a run, as the main process sees them (runner.run puts them in order):

    discover  `Layout`: the files to check, their project roots and the roots' files
    scan      `scan`: every file's bytes once, in the workers (tasks._scan), cached by
              content (the cache opened while the workers hash the files)
    index     `plans_before` and `index_root`: which files can hold a finding, and a
              plan for each (plan.Plan), made by the project index (screen.Index)
    analyse   `Analyses`: each kept file with its plan, in the workers (tasks._analyse),
              as soon as its plan is final; the cache answers what it can; the edits
              of the fixes the findings offer are made here (fixes.settle)
    report    `finish`: the results in a deterministic order, the cache saved

Each stage takes what the ones before it made and hands on what it makes; the index
is the only one that chooses what is checked and where (the analysis stage takes the
plans as they come, the runner passes them on).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .cache import Cache
from .config import Settings
from .files import Listing, Target, entries_of, read_or_none, remember_listing, roots_of_files
from .findings import FileResult, unreadable
from .analysis.statements import heads
from .analysis.text import digest
from .plan import EVERYTHING, Plan
from .selection import enabled_codes
from .screen import (ASYNC, ENGINE, EXT, FLASK, SESSION, UNREAD, Index, ModuleFinder, external_words, left_out_keys,
                     may_hold, names_flask_sqlalchemy, names_in_paths)
from .tasks import (PROGRESSIVE, RunOptions, Scan, Workers, _analyse_chunk, _analyse_settle_chunk, _layout_chunk,
                    _scan_chunk, scan_of)


# -- discover -------------------------------------------------------------------------------
class Layout:
    """The files of a run: the targets that can be read (`files`), a POL001 result for
    each one that vanished (`missing`), each file's absolute path and project root, and
    per root its Python files (runtime.python_files: what its index and its runtime
    verdict read), largest root first."""

    def __init__(self, targets: Iterable[Target], listing: Optional[Listing] = None):
        from .analysis import runtime

        targets = list(targets)
        self.listing = listing  # the folders the walk listed (the deployment's reading uses them too)
        self.files = [t for t in targets if not t.missing and t.file is not None]
        self.missing = [FileResult(t.display, [unreadable(t.display, f"cannot read: {t.missing}")])
                        for t in targets if t.missing]
        self._path = {id(t): t.absolute or os.path.abspath(t.file) for t in self.files}
        self.pairs = [(t, self._path[id(t)]) for t in self.files]  # (target, absolute path)
        self._root = dict(zip(map(id, self.files), roots_of_files([self._path[id(t)] for t in self.files], listing)))
        self.roots: Dict[object, list] = dict.fromkeys(self._root.values())
        self.rel: Dict[str, str] = {}  # a root's file -> its path below the root, with "/"
        self.left_out: Dict[object, list] = {}  # a root -> the entries its walk left out
        for root in self.roots:
            self.roots[root] = runtime.python_files(root, listing, self.left_out.setdefault(root, []))
            cut = len(os.path.abspath(root)) + 1
            self.rel.update((p, p[cut:].replace(os.sep, "/")) for p in self.roots[root])
        self.walked = set(self.rel)  # every file of every root
        runtime.remember_walks({os.path.abspath(root): files for root, files in self.roots.items()})
        remember_listing(listing)
        self.target_at = {self._path[id(t)]: t for t in self.files if self._path[id(t)] in self.walked}
        self.in_root: Dict[object, List[Tuple[Target, str]]] = {}  # root -> its (target, path) pairs
        for t, path in self.pairs:
            self.in_root.setdefault(self._root[id(t)], []).append((t, path))

    def path(self, target: Target) -> str:
        return self._path[id(target)]

    def root(self, target: Target):
        return self._root[id(target)]

    def all_paths(self) -> List[str]:
        """The targets, then every file of their roots, each once."""
        return list(dict.fromkeys(list(self._path.values()) + [p for ps in self.roots.values() if ps for p in ps]))

    def largest_roots_first(self) -> List[Tuple[object, list]]:
        return sorted(self.roots.items(), key=lambda item: -len(item[1] or ()))


# -- scan -----------------------------------------------------------------------------------
class Scanned(NamedTuple):
    """What the scan found: a Scan per file, and for the index, per root a ModuleFinder
    and the project files that each file's imports resolve to (resolved while the
    workers scanned). `load_checker`: have the workers load the checker now (not when
    they were forked only to hash the files for the cache, and no file changed)."""

    scans: Dict[str, Scan]
    finders: Dict[str, ModuleFinder]
    resolved: Dict[str, tuple]
    load_checker: bool = True


# Where a run's cache is (the folder beside the configuration) and what it is for (the
# settings' key): Cache.open's arguments.
CacheAt = Tuple[Path, str]


def scan(layout: Layout, workers: Workers, cache_at: Optional[CacheAt],
         options: RunOptions) -> Tuple[Scanned, Optional[Cache]]:
    """Stage 2: open the cache (at `cache_at`; none without) and scan every file of the
    layout that it cannot vouch for, in the workers; meanwhile this process resolves the
    project imports they find. The cache vouches for a file whose bytes are those of its
    entry (no stat is trusted): where there is a cache file, every file is first read and
    hashed, by forked workers while this process reads the cache (by this process on a
    small tree, or where workers are not forked: started afresh, they would cost more
    than they save). Returns the scan and the run's cache."""
    wanted = layout.all_paths()
    hashed = None
    if cache_at is not None and os.path.lexists(Cache.path_of(*cache_at)):
        hashed = workers.hash_files(wanted)
    forked_early = workers.pool is not None
    cache = Cache.open(*cache_at) if cache_at is not None else None
    scans: Dict[str, Scan] = {}
    todo = []
    if hashed is not None:
        for path, (content, size) in zip(wanted, hashed()):
            entry = cache.vouch(path, content)
            if entry is not None:
                scans[path] = Scan(entry.content, entry.facts, entry.ebits, size=size)
            else:
                todo.append(path)
    else:
        todo = wanted
    tops = {str(root): names_in_paths(str(root), paths) for root, paths in layout.roots.items()} \
        if options.screen and todo else {}
    workers.share_tops(tops)  # before the pool forks, or sent to the pool forked to hash
    root_path = {p: str(root) for root, paths in layout.roots.items() for p in paths} if tops else {}
    finders = {root: ModuleFinder(root, set(paths), tops[root]) for root, paths in
               ((str(root), paths) for root, paths in layout.roots.items()) if root in tops}
    resolved: Dict[str, tuple] = {}
    found = _Found(todo, scans, cache, finders, root_path, resolved)
    workers.start(_scan_chunk, [(p, layout.rel.get(p, ""), root_path.get(p, "")) for p in todo])(found.one)
    # Workers forked for the cache alone load nothing while nothing changed.
    return Scanned(scans, finders, resolved, load_checker=bool(todo) or not forked_early), cache


class _Found:
    """Takes each scan as it comes back: into the scans and the cache, its imports
    resolved to project files."""

    def __init__(self, todo, scans, cache, finders, root_path, resolved):
        self.todo, self.scans, self.cache = todo, scans, cache
        self.finders, self.root_path, self.resolved = finders, root_path, resolved

    def one(self, i: int, plain: tuple) -> None:
        path = self.todo[i]
        self.scans[path] = scan = scan_of(plain)
        if self.cache is not None and scan.content is not None:
            self.cache.update_scan(path, scan.content, scan.facts, scan.ebits)
        finder = self.finders.get(self.root_path.get(path)) if scan.imports is not None else None
        if finder is not None:
            self.resolved[path] = finder.resolve(path, scan.imports[0])


# -- index ----------------------------------------------------------------------------------
def plans_before(layout: Layout, scanned: Scanned, families: FrozenSet[str],
                 settings: Settings) -> List[Tuple[Target, Plan]]:
    """The files that their own bytes choose (an engine factory or an async session
    maker: the index always keeps them), with their plans (screen.Index.plan_before),
    before any index is made: their analysis need not wait for it."""
    out = []
    scans, walked = scanned.scans, layout.walked
    for t, path in layout.pairs:
        found = scans[path]
        # Only an engine factory or an async session maker named chooses a file (most do not).
        if found.facts is None or not found.facts[0] & (ENGINE | ASYNC) or found.error or path not in walked:
            continue
        plan = Index.plan_before(path, found.facts.bits, families, str(layout.root(t)), settings.check_tests)
        if plan is not None:
            out.append((t, plan))
    return out


class Deferred:
    """Layouts the index may ask for, made in the workers while the index starts: the
    scan lays out a file that calls out and names no session or engine (or only session
    words that can name no SQLAlchemy session: screen.closed_off) (tasks._scan) only
    here, and only if another file imports it (the index reads one only if a session
    source imports it, directly or through others). The imports of test code where no
    rule fires do not count: such a test file matters only if code outside the tests
    imports it, and the index lays out what it imports then. Without forked workers,
    nothing is made ahead: the index lays out what it asks for."""

    def __init__(self, workers: Workers, scanned: Scanned):
        imported: set = set()
        scans = scanned.scans
        for path, (names, modules, stars, name_files) in scanned.resolved.items():
            found = scans.get(path)
            if found is not None and found.facts is not None and found.facts.bits & UNREAD:
                continue  # test code where no rule fires: what only it imports, the index reads only if needed
            imported.update(stars)
            for files in (*modules.values(), *name_files.values()):
                imported.update(files)
        self.paths = frozenset(p for p in imported if p in scans and scans[p].statements is None
                               and scans[p].facts is not None and scans[p].facts.bits & EXT)
        order = sorted(self.paths)
        self._order = order
        self._collect = workers.start(_layout_chunk, order) if order and workers.forked() else None
        self._found: Optional[Dict[str, Optional[list]]] = None
        # The heads of what the scan laid out and other files import, for the analyses
        # that load those modules (the first go out before the index): they need not
        # tokenize them again (Workers.share_heads; the index tells of its own layouts).
        workers.share_heads(tuple((p, scans[p].content, heads(scans[p].statements)) for p in sorted(imported)
                                  if p in scans and scans[p].statements is not None and scans[p].content is not None))

    def take(self) -> Dict[str, Optional[list]]:
        """The layouts (path -> statements.layout, or None), waited for once."""
        if self._found is None:
            self._found = dict(zip(self._order, self._collect())) if self._collect is not None else {}
        return self._found


class RootIndex(NamedTuple):
    """The index's answer for one root: a plan per kept file, and whether one of them
    may build an engine (where the runtime verdict is worth making)."""

    plans: Dict[str, Plan]
    engines: bool
    # Per kept file that the index laid out itself (the scan did not): (its content hash,
    # statements.heads), which spare its analysis tokenizing it again (Analyses._known).
    layouts: Dict[str, tuple] = {}


def index_root(root, paths: list, scanned: Scanned, families: FrozenSet[str], settings: Settings,
               options: RunOptions, cache: Optional[Cache],
               on_final: Optional[Callable[[str, Plan, Optional[tuple]], None]] = None,
               left_out: Optional[list] = None, listing: Optional[Listing] = None,
               deferred: Optional["Deferred"] = None,
               on_heads: Optional[Callable[[tuple], None]] = None) -> RootIndex:
    """Stage 3, for one root: its project index (remembered in the cache while no file
    of the root changes). `on_final(path, plan, layout)` is told of each file whose plan
    the index has made final while it works on the others (`layout`: as in
    RootIndex.layouts, or None). Without the screen, every file
    is kept with every rule everywhere. `left_out`: the entries the root's walk left out
    (runtime.python_files), for `flask_free` (None: it is not known, so not free).
    `deferred`: the layouts the workers make meanwhile (Deferred). `on_heads(entries)`
    is told, before the first file made final, or else when the index is made, the
    (path, content hash, statements.heads) of the files the index laid out that other
    files import: the analyses that load them need not tokenize them again."""
    scans = scanned.scans
    facts = {p: scans[p].facts for p in paths if scans[p].facts is not None}
    if not options.screen:
        return RootIndex(dict.fromkeys(facts, EVERYTHING), any(f.bits & ENGINE for f in facts.values()))
    flask = left_out is None or not flask_free(str(root), paths, scans, left_out, listing)
    # What an import may load of what the walk left out counts as anything (Index._left_out).
    beyond = left_out_keys(str(root), left_out)
    key = known = None
    if cache is not None:  # the same files with the same contents: the same answer
        key = digest("\0".join(f"{p}\0{scans[p].content}" for p in paths).encode() + repr(sorted(families)).encode()
                     + (b"" if flask else b"\0flask-free")  # flask_free reads files beyond the root's too
                     + "\0".join(["", *sorted(beyond)]).encode())
        known = cache.root_index(str(root), key)
    if known is not None:  # (kept files, engines, their plans)
        return RootIndex(dict(known[2]), known[1])

    made: Dict[str, tuple] = {}  # path -> (content hash, heads) of a layout the index made

    def known_of(path: str, data: bytes, statements: list) -> tuple:
        found = made.get(path)
        if found is None:
            found = made[path] = (digest(data), heads(statements))
        return found

    def laid(path: str, plan: Plan) -> Optional[tuple]:
        """(content hash, heads) of a file the index laid out itself, or None (as where
        its plan parses it whole)."""
        found = index.layout_of(path) if scans[path].statements is None and plan.parsed_whole() is not None \
            else None
        return known_of(path, *found) if found is not None else None

    shared: list = []

    def share() -> None:
        if on_heads is not None and not shared:
            shared.append(True)
            on_heads(tuple((path, *known_of(path, data, statements))
                           for path, statements, data in index.imported_layouts()))

    def tell(path: str, hint: tuple) -> None:
        share()
        plan = Plan(*hint, flask=flask)
        on_final(path, plan, laid(path, plan))

    index = Index(facts, read_or_none, families, str(root), external_words(settings.external_calls), settings.check_tests,
                  {p: scans[p].statements for p in paths if scans[p].statements is not None},
                  scanned.finders[str(root)].tops if str(root) in scanned.finders else None,
                  {p: scans[p].imports for p in paths if scans[p].imports is not None},
                  {p: scans[p].parts for p in paths if scans[p].parts is not None},
                  scanned.finders.get(str(root)), scanned.resolved, beyond, deferred)
    chosen = index.select(tell if on_final is not None else None)
    if chosen:
        share()
    plans = {p: index.plan(p)._replace(flask=flask) for p in chosen}
    engines = index.may_build_engines(chosen)
    if key is not None:
        cache.update_root_index(str(root), key, chosen, engines, plans)
    layouts = {}
    for path in chosen:
        found = laid(path, plans[path])
        if found is not None:
            layouts[path] = found
    return RootIndex(plans, engines, layouts)


# How far flask_free looks beyond the files of a root's walk (in folder entries, and in
# files it reads that no scan of the run read): past that, the answer is "not free".
_BEYOND_ENTRIES = 5_000
_BEYOND_READS = 500


def flask_free(root: str, paths: list, scans: Dict[str, Scan], left_out: list,
               listing: Optional[Listing] = None) -> bool:
    """Can no module that the analysis of a file of the root can load name
    flask_sqlalchemy (plan.Plan.flask)? Then no name of the project is a Flask-SQLAlchemy
    instance: the question of `db.session` (analysis.flask.FlaskSessions) resolves no
    name, and loads no module, to say no.

    Such a name is the canonical form of a callee (analysis.flask.is_db): it comes, first
    part first, from an import of a module the resolution passes (its text names
    flask_sqlalchemy: screen.names_flask_sqlalchemy) or from a module's name (its path
    holds the word). The resolution loads `<base>/<parts>.py` or
    `<base>/<parts>/__init__.py` (project.Project.find_module) from bases that are
    folders of the walk (the import root of a loaded module, the root, `src/`, the tops
    of the package chains), by parts that hold no dot. So beyond the root's files
    (`paths`, their scans' FLASK bit) it can reach only what the walk left out under a
    name without a dot (a dot-free name of a link or a file `<name>.py`): each such
    folder is walked too, dot-free names only (a hidden folder, `python3.11/`, is never
    entered); a link, a folder that cannot be listed, a file no scan read that cannot be
    read, or more than the bounds above: not free."""
    top = os.path.abspath(root)
    cut = len(top) + 1
    if os.path.isfile(os.path.join(top, "__init__.py")):  # module names climb above the root
        if "flask_sqlalchemy" in (top + os.path.realpath(top)).lower():
            return False
    if "flask_sqlalchemy" in "\0".join(paths).lower() and any("flask_sqlalchemy" in p[cut:].lower() for p in paths):
        return False  # (the root's own path counts only where names climb above it: above)
    for path in paths:
        facts = scans[path].facts
        if facts is None or facts.bits & FLASK:
            return False
    reachable = lambda name: "." not in name or (name.endswith(".py") and "." not in name[:-3])  # noqa: E731
    folders = []
    for path in left_out:
        if path == top:
            return False  # the root cannot be listed
        if reachable(os.path.basename(path)):
            if os.path.islink(path) or not os.path.isdir(path):
                return False
            folders.append(path)
    entries_seen = reads = 0
    while folders:
        entries = entries_of(folders.pop(), listing)
        if entries is None:
            return False
        entries_seen += len(entries)
        if entries_seen > _BEYOND_ENTRIES:
            return False
        for entry in entries:
            name = entry.name
            if not reachable(name):
                continue
            try:
                if entry.is_symlink():
                    return False
                if entry.is_dir():
                    folders.append(entry.path)
                    continue
                if not (name.endswith(".py") and entry.is_file()):
                    continue
            except OSError:
                return False
            if "flask_sqlalchemy" in entry.path[cut:].lower():
                return False
            found = scans.get(entry.path)
            if found is None:
                reads += 1
                data = read_or_none(entry.path) if reads <= _BEYOND_READS else None
                if data is None or names_flask_sqlalchemy(data):
                    return False
            elif found.facts is None or found.facts.bits & FLASK:
                return False
    return True


def loose_plans(layout: Layout, scanned: Scanned, options: RunOptions) -> Dict[str, Plan]:
    """Files outside every root the run walks (an excluded folder named explicitly),
    judged alone: kept if their own bytes name an engine factory, a session class or
    factory, or SQLAlchemy (everything, without the screen)."""
    scans = scanned.scans
    return {p: EVERYTHING for _, p in layout.pairs
            if p not in layout.walked and scans[p].facts is not None
            and (not options.screen or may_hold(scans[p].facts))}


# -- analyse --------------------------------------------------------------------------------
# From this many files that can offer a fix in one batch, two workers make their edits;
# while the index is being made, on a machine where that leaves no core free, only where
# their work would outlast the index by a third: three processes then share two cores,
# the index's among them, which a second settler slows more than it helps. A fixing
# file's analysis and edits cost about as much as the index's work on SETTLE_WEIGHT files
# that name a session or an engine (measured: the generated tree's 128 fixing files took
# 0.34 s of one worker, its index 0.30 s for 978 such files).
SPLIT_SETTLING = 32
SETTLE_WEIGHT = 7


def split_settling(fixing: int, indexed: Optional[int], jobs: int, cores: int) -> bool:
    """Do two workers share a batch's `fixing` files (SPLIT_SETTLING)? `indexed`: the
    batch goes out before the index, which reads about that many files (None: after it)."""
    if fixing < SPLIT_SETTLING or jobs < 2:
        return False
    return indexed is None or cores > 2 or fixing * SETTLE_WEIGHT * 3 > indexed * 4


class Analyses:
    """Stage 4: the kept files analysed in the workers, each with its plan, batch by
    batch as the index makes plans final; the runtime verdict of a root is made before
    its files with engine rules go out. A file the cache answers for its plan (or that
    the scan could not read) is answered here and not analysed."""

    def __init__(self, layout: Layout, scanned: Scanned, workers: Workers, cache: Optional[Cache],
                 settings: Settings):
        self.layout, self.scans, self.workers, self.cache = layout, scanned.scans, workers, cache
        self.settings = settings
        self.verdicts: dict = {}  # root -> runtime verdict
        self.settled: set = set()  # files analysed, or answered by the cache or the scan
        self.used: Dict[str, Plan] = {}  # path -> the plan its analysis was given
        self.answered: List[FileResult] = []
        self.batches: list = []  # (targets, a call that waits for their results)
        self.ready: List[Target] = []  # files whose plan is final, not sent yet
        self.plans: Dict[str, Plan] = {}
        self.laid: Dict[str, tuple] = {}  # RootIndex.layouts, of every root indexed
        # The workers load the checker while this process makes the index.
        if scanned.load_checker:
            workers.warm_up()

    def verdict(self, root) -> None:
        """Make the runtime verdict of a root, once."""
        if root not in self.verdicts:
            self.verdicts[root] = _verdict(root, self.layout.roots[root], self.scans, self.layout.rel,
                                           self.settings, self.cache, self.layout.listing)

    def before_index(self, chosen: List[Tuple[Target, Plan]]) -> None:
        """Analyse now the files their own bytes choose (with their roots' verdicts)."""
        for root in {self.layout.root(t) for t, _ in chosen}:
            self.verdict(root)
        self.settled.update(self.layout.path(t) for t, _ in chosen)
        indexed = sum(1 for found in self.scans.values() if found.facts is not None and found.facts[0] & (SESSION | ENGINE))
        self._send([(t, plan) for t, plan in chosen if self._pending(t, plan)], indexed)

    def final(self, path: str, plan: Plan, known: Optional[tuple] = None) -> None:
        """A file whose plan the index has made final: analysed at once, a few at a
        time, unless the engine rules may fire there (they need the root's runtime
        verdict, made after the index). `known`: RootIndex.layouts's entry of it."""
        if known is not None:
            self.laid[path] = known
        t = self.layout.target_at.get(path)
        if t is None or plan.engine or path in self.settled:
            return
        self.settled.add(path)
        self.plans[path] = plan
        if self._pending(t, plan):
            self.ready.append(t)
            if len(self.ready) >= PROGRESSIVE:
                self._flush()

    def indexed(self, root, found: RootIndex) -> None:
        """A root's index is made: its verdict if an engine can be built there (or the
        runtime is configured), then its kept files not sent yet."""
        self.plans.update(found.plans)
        self.laid.update(found.layouts)
        if found.engines or self.settings.runtime != "auto":
            self.verdict(root)
        self._flush()
        batch = []
        for t, path in self.layout.in_root.get(root, ()):
            if path in self.layout.walked and path not in self.settled and \
                    (path in found.plans or self.scans[path].error):
                self.settled.add(path)
                plan = self.plans.get(path, EVERYTHING)
                if self._pending(t, plan):
                    batch.append((t, plan))
        self._send(batch)

    def rest(self, plans: Dict[str, Plan]) -> None:
        """The files not sent yet: kept ones (`plans`, of files outside every root, or
        plans made before), and any the scan could not read."""
        self.plans.update(plans)
        batch = []
        for t, path in self.layout.pairs:
            if path not in self.settled and (path in self.plans or self.scans[path].error):
                plan = self.plans.get(path, EVERYTHING)
                if self._pending(t, plan):
                    batch.append((t, plan))
        self._send(batch)

    def results(self) -> Tuple[List[FileResult], int]:
        """(every result: answered, then analysed; how many files were analysed), the
        cache told of each analysis."""
        out = list(self.answered)
        analysed = 0
        for batch, results in self.batches:
            for t, file_result in zip(batch, results(_settle)):
                analysed += 1
                out.append(file_result)
                # A file that could not be read is asked again next time; one that does not
                # decode or parse gives the same answer for the same bytes (and Python: the
                # cache's key holds its version).
                if self.cache is not None and not file_result.error and not any(
                        f.code == "POL001" and f.message.startswith("cannot read") for f in file_result.findings):
                    path = self.layout.path(t)
                    self.cache.update_findings(path, file_result.findings, file_result.deps, file_result.runtime,
                                               self.used[path])
        return out, analysed

    # -- inside ---------------------------------------------------------------------------
    def _pending(self, t: Target, plan: Plan) -> bool:
        """Does the file need analysing with `plan` (no valid cached result)? Answers what
        the cache or the scan already says. A result made with another plan is not valid:
        the index looks elsewhere now, because another file changed."""
        path = self.layout.path(t)
        found = self.scans[path]
        if found.error:
            self.answered.append(FileResult(t.display, [unreadable(t.display, f"cannot read: {found.error}")]))
            return False
        entry = self.cache.entries.get(path) if self.cache is not None else None
        root = self.layout.root(t)
        if entry is not None and entry.findings is not None and entry.plan == plan and \
                (not entry.runtime or (root in self.verdicts and entry.runtime == self.verdicts[root].key())) \
                and self.cache.deps_valid(entry, root):
            self.answered.append(FileResult(t.display, [f._replace(filename=t.display) for f in entry.findings]))
            return False
        return True

    def _flush(self) -> None:
        ready, self.ready = self.ready, []
        self._send([(t, self.plans[self.layout.path(t)]) for t in ready])

    def _send(self, work: List[Tuple[Target, Plan]], indexed: Optional[int] = None) -> None:
        """Analyse a batch of files now, each with its plan (`indexed`: sent before the
        index, which will read about that many files: SETTLE_WEIGHT)."""
        if not work:
            return
        layout = self.layout
        self.used.update((layout.path(t), plan) for t, plan in work)
        sizes = [self.scans[layout.path(t)].size for t, _ in work]
        # Files of one part of the project (its first two folders) load the same modules.
        packages = [os.sep.join(os.path.relpath(layout.path(t), layout.root(t)).split(os.sep)[:2]) for t, _ in work]
        items = [(t, plan, self._known(layout.path(t), plan)) for t, plan in work]
        # Only the engine rules and POL204 offer fixes. With forked workers, the files
        # where they can fire go to the first worker, which makes the fixes' edits
        # itself (tasks._analyse_settle_chunk): LibCST is loaded in one process, mostly
        # while this one makes the index (the files their own bytes choose go out before
        # it); elsewhere this process makes them as the results come back (_settle).
        # Many such files at once (the files their own bytes choose, sent while this
        # process makes the index and the other workers have nothing else to do) go to
        # two workers: each pays LibCST's import, but the first no longer holds up the
        # end of the run alone.
        fixing = [i for i, (_, plan) in enumerate(work) if plan.engine or plan.async_sessions]
        parts: List[Tuple[Optional[Tuple[int, ...]], Sequence[int]]] = [(None, range(len(work)))]
        if fixing and self.workers.forked():
            rest = sorted(set(range(len(work))) - set(fixing))
            two = split_settling(len(fixing), indexed, self.workers.jobs, os.cpu_count() or 1)
            settlers = (0, 1) if two else (0,)
            parts = [(settlers, fixing), (None, rest)]
        for settlers, chosen in parts:
            if chosen:
                self.batches.append(([work[i][0] for i in chosen], self.workers.start(
                    _analyse_settle_chunk if settlers is not None else _analyse_chunk, [items[i] for i in chosen],
                    dict(self.verdicts), [sizes[i] for i in chosen], [packages[i] for i in chosen],
                    pinned=settlers)))

    def _known(self, path: str, plan: Plan):
        """(content hash, statements.heads) of a file the scan or the index laid out, for
        its lazy parse (tasks._analyse), or None (no layout, or a plan that parses the file
        whole)."""
        if plan.parsed_whole() is None:
            return None
        found = self.scans[path]
        if found.statements is None or found.content is None:
            return self.laid.get(path)
        return found.content, heads(found.statements)


def _settle(_: int, result: FileResult) -> None:
    """A result as it comes back: the edits of the fixes it still offers made here
    (fixes.settle; with forked workers, the one worker given the files that can offer a
    fix made them already: Analyses._send); a finding says "fixable" only where its edit
    is made and checked."""
    if result.offers is not None:
        from .fixes import settle

        settle(result)


def _verdict(root, paths, scans, rel_of, settings: Settings, cache: Optional[Cache], listing=None):
    """The runtime verdict of a root, reading (and caching) only the evidence it takes;
    on a server where POL112 is enabled and a cache is kept, with the root's deployment
    (read once per run, here, and sent to the workers with the verdict): the key of a
    cached finding holds the deployment's fingerprint (RuntimeVerdict.key). Without a
    cache, POL112 reads it where it needs it (rules/budget.py, once per process), off
    this process's path to the index."""
    from .analysis import runtime

    def evidence_of(path: str):
        entry = cache.entries.get(path) if cache is not None else None
        if entry is not None and entry.evidence is not None and entry.content == scans[path].content:
            return entry.evidence
        data = read_or_none(path)
        found = runtime.code_evidence(rel_of[path], data) if data is not None else ()
        if entry is not None and data is not None and digest(data) == entry.content:
            cache.update_evidence(path, found)
        return found

    files = [(p, scans[p].ebits) for p in paths if scans[p].ebits]
    verdict = runtime.lazy_verdict(root, files, evidence_of, settings.runtime)
    if verdict.kind == "server" and cache is not None and "POL112" in enabled_codes(settings):
        from .analysis.deployment import read_deployment

        verdict = verdict._replace(deployment=read_deployment(
            root, listing, budget_only=settings.max_connections is None))
    return verdict
