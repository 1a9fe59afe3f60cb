"""A run: the stages in order, and what the command line does with their results.

    files -> scan (bytes, in the workers) -> project index (a plan per file)
          -> parse + analyse + rules (in the workers, each file with its plan)
          -> findings -> reporters / fixes

`run` only sequences the stages (pool_lint/stages.py: discover, scan, index, analyse,
report); what runs in the worker processes is in pool_lint/tasks.py. The project index
alone decides which files are checked and where (plan.Plan): `run` hands its plans to
the analysis stage as they come.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from .cache import Cache
from .config import Settings
from .files import Listing, Target, discover, project_root, read_regular, remember_listing, write_atomically
from .analysis.runtime import remember_walks
from .findings import FileResult
from .screen import families_of
from .selection import enabled_codes
from .stages import Analyses, CacheAt, Deferred, Layout, index_root, loose_plans, plans_before, scan
from .tasks import RunOptions, Workers, _guarded

__all__ = ["RunOptions", "RunResult", "run", "run_stdin", "write_fixes", "discover_targets"]


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


def run(targets: Sequence[Target], settings: Settings, options: RunOptions,
        cache_folder: Optional[Path] = None, listing: Optional[Listing] = None,
        keep: Optional[list] = None) -> RunResult:
    """Check the targets: discover their roots, scan every file of them once, make each
    root's project index (the largest root first), analyse the kept files with their
    plans, report. The analysis overlaps the index: files their own bytes choose go out
    before it, a file whose plan the index has made final goes out at once (with
    workers), a root's files as soon as its index is made. `listing`: the folders the
    discovery of the targets listed (files.discover), walked again here. `keep`: a list
    the run's large objects (its scans, layout, analyses) are added to, rather than
    freed one by one when it returns: the command line leaves without freeing them
    (cli.entry), and freeing them took a large tree's run some 0.02 s."""
    workers = Workers(options.jobs or os.cpu_count() or 1, settings, options)
    try:
        layout = Layout(targets, listing)
        scanned, cache = scan(layout, workers, cache_at(settings, options, cache_folder), options)
        # The layouts the index may ask for go to the workers first, before they load the
        # rules (Analyses), so that they are back when the index asks.
        deferred = Deferred(workers, scanned) if options.screen else None
        analyses = Analyses(layout, scanned, workers, cache, settings)
        families = families_of(enabled_codes(settings))
        progressive = options.screen and workers.pool is not None
        if progressive:
            analyses.before_index(plans_before(layout, scanned, families, settings))
        for root, paths in layout.largest_roots_first():
            analyses.indexed(root, index_root(root, paths, scanned, families, settings, options, cache,
                                              analyses.final if progressive else None,
                                              layout.left_out.get(root), layout.listing, deferred,
                                              workers.share_heads))
        analyses.rest(loose_plans(layout, scanned, options))
        results, analysed = analyses.results()
        if keep is not None:
            keep += [layout, scanned, analyses, cache, deferred]
    finally:
        workers.close()
        remember_walks({})  # (the walks of this run answer python_files no more)
        remember_listing(None)
    return finish(RunResult(layout.missing + results, files_seen=len(targets), files_analysed=analysed), cache)


def cache_at(settings: Settings, options: RunOptions, folder: Optional[Path]) -> Optional[CacheAt]:
    """Where the run's cache is and what it is for (the scan opens it): none with
    --no-cache, --fix or --diff."""
    if options.use_cache and not (options.fix or options.diff) and folder is not None:
        return Path(folder), settings.cache_key() + f"\0screen={options.screen}"
    return None


def finish(result: RunResult, cache: Optional[Cache]) -> RunResult:
    """Stage 5: the results worth reporting, sorted by file name; the cache saved."""
    result.results = [r for r in result.results if r.findings or r.fixed_text is not None or r.error]
    result.results.sort(key=lambda r: r.filename)
    if cache is not None:
        cache.save()
        result.warnings += cache.warnings
    return result


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
    """Write every changed file; returns error messages (the run goes on). Only a regular
    file is written, keeping its mode: a file reached through a symbolic link (one the
    discovery found inside the root) is written at its real path, and the link stays a
    link; a file written already (through another link) is not written twice."""
    errors, written = [], set()
    for r in results:
        if r.fixed_text is None:
            continue
        target = targets_by_name.get(r.filename)
        if target is None or target.path is None:
            continue
        try:
            dest = os.path.realpath(target.file)
            if target.real is not None and dest != target.real:
                raise OSError(f"the symbolic link {target.file} points elsewhere since it was read; not written")
            if target.real is None and os.path.islink(target.file):
                raise OSError(f"{target.file} became a symbolic link since it was read; not written")
            if dest in written:
                continue
            written.add(dest)
            original = read_regular(dest, follow=False)
            data = encode_like(original, r.fixed_text)
            write_atomically(Path(dest), lambda handle: handle.write(data), os.lstat(dest).st_mode)
        except (OSError, UnicodeEncodeError) as exc:
            errors.append(f"{r.filename}: could not write the fix: {exc}")
    return errors


def discover_targets(paths: Sequence[str], settings: Settings, stdin_filename: Optional[str],
                     listing: Optional[Listing] = None, force_exclude: bool = False):
    return discover(paths, settings, stdin_filename, listing, force_exclude)


def out(text: str, stream=None) -> None:
    (stream or sys.stdout).write(text)
