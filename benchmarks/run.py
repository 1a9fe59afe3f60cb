#!/usr/bin/env python3
"""Time pool-lint against ruff on one tree, side by side, in one run.

    python benchmarks/run.py TREE [--repeat 5] [--jobs N] [--skip-ruff]

Steps (each run as a subprocess with cwd=TREE, its output discarded, timed with
time.perf_counter around the call; the table reports the median of --repeat runs):

    read files      python -c "...": walk TREE and read every .py file's bytes (the floor)
    ruff            ruff check --isolated --select ASYNC210,ASYNC212 --no-cache --exit-zero TREE
    pool-lint cold  pool-lint check --no-cache --exit-zero -q [--jobs N] TREE
    pool-lint warm  pool-lint check --exit-zero -q [--jobs N] TREE, after one unmeasured
                    priming run that fills the cache

Before the measured runs every step runs once unmeasured (so all of them find the tree in
the OS page cache and pool-lint's own .pyc files written: the steps run without
PYTHONDONTWRITEBYTECODE, as an installed pool-lint would), and the pool-lint cache
(TREE/.pool_lint_cache and ./.pool_lint_cache) is removed, so "cold" is truly cold.
read files, ruff and pool-lint cold are measured in interleaved rounds, so a drift of
the machine affects them alike. Then one pool-lint cold run is repeated for its peak
memory (see the notes printed with it). The end of the output is a markdown table and
the two verdicts (cold <= 3 x ruff, warm <= 1 x ruff), ready for the README.

Standard library only; Python >= 3.9.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

CACHE_DIR = ".pool_lint_cache"
SKIP_DIRS = (".git", ".venv", "__pycache__", CACHE_DIR, ".ruff_cache")
COLD_LIMIT = 3.0  # pool-lint cold <= 3 x ruff
WARM_LIMIT = 1.0  # pool-lint warm <= 1 x ruff

READ_FILES = """\
import os, sys
skip = set(sys.argv[2:])
total = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if d not in skip]
    for name in files:
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as handle:
                total += len(handle.read())
print(total)
"""

# Runs a command and reports RUSAGE_CHILDREN.ru_maxrss: the largest resident set of any
# process it waited for, directly or through its own children (not a sum).
RUSAGE_WRAPPER = """\
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write("\\nBENCH_CHILDREN_MAXRSS=%d\\n" % usage.ru_maxrss)
sys.exit(code)
"""


# -- running one command -------------------------------------------------------------------------
@dataclass
class Outcome:
    seconds: float
    returncode: Optional[int]  # None: timed out (killed)
    stderr: str = ""
    stdout: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# The steps run as a user runs them: Python may write its bytecode caches. A shell with
# PYTHONDONTWRITEBYTECODE set would otherwise make every pool-lint run (and every worker)
# compile pool-lint's modules from source, which no installed copy does.
STEP_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def run_once(argv: Sequence[str], cwd: Path, timeout: Optional[float], capture_stdout: bool = False) -> Outcome:
    """Time one run. The command gets its own process group, so that a timeout also ends
    the worker processes it started."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=str(cwd), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, env=STEP_ENV)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return Outcome(time.perf_counter() - start, None, "")
    elapsed = time.perf_counter() - start
    return Outcome(elapsed, proc.returncode, err.decode("utf-8", "replace"),
                   out.decode("utf-8", "replace") if out else "")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def tail(text: str, lines: int = 8) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join("      " + line for line in kept)


# -- steps ---------------------------------------------------------------------------------------------
@dataclass
class Step:
    name: str
    argv: List[str]
    times: List[float] = field(default_factory=list)
    failure: Optional[str] = None  # why the step has no (complete) timing
    note: str = ""

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.times) if self.times and not self.failure else None


def measure(step: Step, tree: Path, timeout: Optional[float], label: str = "") -> Optional[Outcome]:
    """One measured run of `step`; a failure marks the step and stops its runs."""
    if step.failure:
        return None
    outcome = run_once(step.argv, tree, timeout)
    if outcome.returncode is None:
        step.failure = f"timed out: one run took more than {timeout:g} s (stopped)"
    elif not outcome.ok:
        step.failure = f"exit status {outcome.returncode}"
        print(f"  {step.name}: FAILED with exit status {outcome.returncode}; stderr ends with:")
        print(tail(outcome.stderr))
    else:
        step.times.append(outcome.seconds)
    shown = f"{outcome.seconds:8.3f} s" + ("" if outcome.ok else f"  ({step.failure})")
    print(f"  {label}{step.name:<16} {shown}", flush=True)
    return outcome


# -- tools and the machine -----------------------------------------------------------------------
def find_tool(name: str, explicit: Optional[str]) -> Optional[str]:
    """The tool given, or the one beside this interpreter, in the repository's .venv, or on PATH."""
    if explicit:
        return explicit if os.path.exists(explicit) else shutil.which(explicit)
    repo_venv = Path(__file__).resolve().parent.parent / ".venv" / "bin"
    for folder in (Path(sys.executable).parent, repo_venv):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def output_of(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return done.stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"


def interpreter_of(script: str) -> Optional[str]:
    """The interpreter named in a console script's shebang line."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and "python" in os.path.basename(parts[-1] if parts[0].endswith("env") else parts[0]):
            return parts[-1] if parts[0].endswith("env") else parts[0]
    return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except AttributeError:
        return os.cpu_count() or 1


def tree_size(tree: Path) -> Tuple[int, int, int]:
    files = lines = size = 0
    for folder, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    data = handle.read()
                files += 1
                size += len(data)
                lines += data.count(b"\n")
    return files, lines, size


def remove_caches(tree: Path) -> List[str]:
    removed = []
    for folder in {(tree / CACHE_DIR).resolve(), (Path.cwd() / CACHE_DIR).resolve()}:
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(str(folder))
    return removed


# -- memory ----------------------------------------------------------------------------------------
class TreeSampler(threading.Thread):
    """Samples the summed RSS (and PSS) of a process's descendants from /proc, counting
    those at least `depth` levels below it (below the measuring wrappers)."""

    def __init__(self, root_pid: int, depth: int = 1, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.depth = depth
        self.interval = interval
        self.stop = threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self.samples = 0
        self.pss_ok = True

    def _descendants(self) -> List[int]:
        children: Dict[int, List[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        found, todo = [], [(self.root_pid, 0)]
        while todo:
            pid, level = todo.pop()
            for child in children.get(pid, []):
                if level + 1 >= self.depth:
                    found.append(child)
                todo.append((child, level + 1))
        return found

    def _rss(self, pid: int) -> Tuple[int, int]:
        rss = pss = 0
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                rss = int(handle.read().split()[1]) * self.page
        except (OSError, IndexError, ValueError):
            return 0, 0
        if self.pss_ok:
            try:
                with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                    for line in handle:
                        if line.startswith(b"Pss:"):
                            pss = int(line.split()[1]) * 1024
                            break
            except (FileNotFoundError, ProcessLookupError):
                pass  # the process ended meanwhile
            except (OSError, ValueError):
                self.pss_ok = False  # no smaps_rollup here (old kernel) or not readable
        return rss, pss

    def run(self) -> None:
        while not self.stop.is_set():
            pids = self._descendants()
            values = [self._rss(pid) for pid in pids]
            self.samples += 1
            rss = sum(v[0] for v in values)
            if rss > self.peak_rss:
                self.peak_rss = rss
                self.peak_processes = len([v for v in values if v[0]])
            self.peak_pss = max(self.peak_pss, sum(v[1] for v in values))
            self.stop.wait(self.interval)


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 2 ** 20:.0f} MiB"


def measure_memory(cold_argv: List[str], tree: Path, timeout: Optional[float]) -> List[str]:
    """One more pool-lint cold run, for its peak memory. Returns report lines."""
    maxrss_unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    time_bin = "/usr/bin/time" if os.path.exists("/usr/bin/time") and sys.platform.startswith("linux") else None
    wrapper = [sys.executable, "-c", RUSAGE_WRAPPER] + cold_argv
    argv = ([time_bin, "-v"] if time_bin else []) + wrapper
    can_sample = os.path.isdir("/proc/self") and hasattr(os, "sysconf")
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=str(tree), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, env=STEP_ENV)
    # Below /usr/bin/time (if any) and the wrapper: pool-lint and its workers.
    sampler = TreeSampler(proc.pid, depth=2 if time_bin else 1) if can_sample else None
    if sampler:
        sampler.start()
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        if sampler:
            sampler.stop.set()
        return [f"  not measured: the run took more than {timeout:g} s"]
    elapsed = time.perf_counter() - start
    if sampler:
        sampler.stop.set()
        sampler.join()
    text = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        return [f"  not measured: the run failed (exit status {proc.returncode}):", tail(text)]
    out = [f"  one run, {elapsed:.2f} s (under the measuring tools, not part of the timings above)"]
    time_kib = None
    for line in text.splitlines():
        if "Maximum resident set size" in line:
            time_kib = int(line.rsplit(":", 1)[1].strip())
    children = None
    for line in text.splitlines():
        if line.startswith("BENCH_CHILDREN_MAXRSS="):
            children = int(line.split("=", 1)[1]) * maxrss_unit
    if time_kib is not None:
        out.append(f"  /usr/bin/time -v, Maximum resident set size:        {mb(time_kib * 1024):>9}"
                   "   the largest single process (main or one worker), not a sum")
    else:
        out.append("  /usr/bin/time -v: not available")
    if children is not None:
        out.append(f"  getrusage(RUSAGE_CHILDREN).ru_maxrss (fresh parent): {mb(children):>9}"
                   "   the same quantity from the kernel: a max over the tree, never a sum")
    if sampler and sampler.samples:
        out.append(f"  sum over the process tree, sampled from /proc:     {mb(sampler.peak_rss):>9} RSS"
                   f"   peak of main + workers together ({sampler.peak_processes} processes at the peak;"
                   f" {sampler.samples} samples, every {sampler.interval * 1000:.0f} ms)")
        if sampler.pss_ok and sampler.peak_pss:
            out.append(f"                                                     {mb(sampler.peak_pss):>9} PSS"
                       "   the same with shared pages (forked workers) counted once")
    else:
        out.append("  sum over the process tree: not measured (no /proc)")
    return out


# -- report ----------------------------------------------------------------------------------------
def fmt(value: Optional[float], digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("tree", metavar="TREE", type=Path)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per step (default 5)")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to pool-lint (default: its own, all cores)")
    parser.add_argument("--skip-ruff", action="store_true", help="do not run ruff (ratios become n/a)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="give up on a step when one run takes longer (seconds, default 120; 0: no limit)")
    parser.add_argument("--pool-lint-args", default="", metavar="ARGS",
                        help="extra arguments for every pool-lint run, e.g. \"--ignore POL108\"")
    parser.add_argument("--ruff", help="the ruff executable (default: beside this Python, the repo's .venv, PATH)")
    parser.add_argument("--pool-lint", dest="pool_lint", help="the pool-lint executable (default: as for ruff)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory run")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    tree: Path = args.tree.resolve()
    if not tree.is_dir():
        parser.error(f"{tree} is not a folder")
    timeout = args.timeout or None

    pool_lint = find_tool("pool-lint", args.pool_lint)
    if pool_lint is None:
        parser.error("pool-lint not found: install it, or pass --pool-lint PATH")
    ruff = None if args.skip_ruff else find_tool("ruff", args.ruff)
    if ruff is None and not args.skip_ruff:
        parser.error("ruff not found: install it, pass --ruff PATH, or use --skip-ruff")

    # -- the machine and the tree
    print("# pool-lint speed benchmark")
    print()
    print(f"machine:    {platform.platform()}; {cpu_model()}")
    print(f"CPUs:       {os.cpu_count()} (usable by this process: {usable_cpus()})")
    pl_python = interpreter_of(pool_lint)
    pl_python_version = output_of([pl_python, "-c", "import platform; print(platform.python_version())"]) \
        if pl_python else "unknown"
    print(f"Python:     {platform.python_version()} (this script, read files); "
          f"{pl_python_version} (pool-lint: {pl_python or 'unknown'})")
    print(f"ruff:       {output_of([ruff, '--version']) if ruff else 'skipped'}" + (f" ({ruff})" if ruff else ""))
    print(f"pool-lint:  {output_of([pool_lint, '--version'])} ({pool_lint})")
    files, lines, size = tree_size(tree)
    print(f"tree:       {tree}: {files} .py files, {lines} lines, {size / 1e6:.1f} MB")
    jobs_text = f"--jobs {args.jobs}" if args.jobs else "default --jobs (all cores)"
    ruff_threads = "ruff's default threads (all cores)" if ruff else "ruff skipped"
    print(f"settings:   --repeat {args.repeat}, pool-lint {jobs_text}, {ruff_threads}, "
          f"timeout {f'{timeout:g} s' if timeout else 'none'} per run")
    print()

    target = str(tree)
    extra = shlex.split(args.pool_lint_args)
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    read = Step("read files", [sys.executable, "-c", READ_FILES, target, *SKIP_DIRS])
    ruff_step = Step("ruff", [ruff, "check", "--isolated", "--select", "ASYNC210,ASYNC212", "--no-cache",
                              "--exit-zero", target]) if ruff else None
    cold = Step("pool-lint cold", [pool_lint, "check", "--no-cache", "--exit-zero", "-q", *jobs, *extra, target])
    warm = Step("pool-lint warm", [pool_lint, "check", "--exit-zero", "-q", *jobs, *extra, target])
    steps = [s for s in (read, ruff_step, cold, warm) if s is not None]
    print("commands (cwd = TREE):")
    for step in steps:
        shown = list(step.argv)
        if step is read:
            shown[2] = "<walk TREE and read every .py file>"
        print(f"  {step.name:<16} {' '.join(shlex.quote(a) for a in shown)}")
    print()

    # -- warm-up: every command once, unmeasured; the cold run's output is kept for a check
    removed = remove_caches(tree)
    if removed:
        print(f"removed the pool-lint cache: {', '.join(removed)}")
    print("warm-up (unmeasured: fills the OS page cache, checks that each command works):")
    cold_output = None
    for step in (read, ruff_step, cold):
        if step is None:
            continue
        outcome = run_once(step.argv, tree, timeout, capture_stdout=step is cold)
        if outcome.returncode is None:
            step.failure = f"timed out: one run took more than {timeout:g} s (stopped)"
        elif not outcome.ok:
            step.failure = f"exit status {outcome.returncode}"
        print(f"  {step.name:<16} {outcome.seconds:8.3f} s" + (f"  ({step.failure})" if step.failure else ""),
              flush=True)
        if outcome.returncode not in (0, None):
            print("    stderr ends with:")
            print(tail(outcome.stderr))
        if step is cold and outcome.ok:
            cold_output = outcome.stdout
    print()

    # -- measured: read files, ruff and pool-lint cold in interleaved rounds
    remove_caches(tree)
    for round_no in range(1, args.repeat + 1):
        print(f"round {round_no}/{args.repeat}:")
        for step in (read, ruff_step, cold):
            if step is not None:
                measure(step, tree, timeout)
        if remove_caches(tree):
            print("  (a pool-lint cache appeared during a --no-cache run: removed)")
    print()

    # -- warm: one priming run fills the cache, then the measured runs
    print("pool-lint warm:")
    if warm.failure is None:
        priming = run_once(warm.argv, tree, timeout, capture_stdout=True)
        if priming.ok:
            status = ""
        elif priming.returncode is None:
            status = f"  (timed out after {timeout:g} s)"
            warm.failure = f"timed out: the priming run took more than {timeout:g} s (stopped)"
        else:
            status = f"  (exit status {priming.returncode})"
            warm.failure = "the priming run failed"
        print(f"  priming run (fills the cache, unmeasured) {priming.seconds:8.3f} s{status}", flush=True)
        if priming.returncode not in (0, None):
            print("    stderr ends with:")
            print(tail(priming.stderr))
        for round_no in range(1, args.repeat + 1):
            measure(warm, tree, timeout, label=f"run {round_no}/{args.repeat}: ")
        if warm.times and not warm.failure:
            again = run_once(warm.argv, tree, timeout, capture_stdout=True)
            if again.ok and cold_output is not None:
                same = sorted(again.stdout.splitlines()) == sorted(cold_output.splitlines())
                print(f"  check: a warm run prints {len(again.stdout.splitlines())} lines, a cold run "
                      f"{len(cold_output.splitlines())}: {'identical' if same else 'DIFFERENT'}")
                if not same:
                    warm.note = "warm output differs from cold output"
    print()

    # -- memory
    if not args.no_memory:
        print(f"peak memory of one pool-lint cold run ({jobs_text}):")
        if cold.failure:
            print("  not measured: pool-lint cold failed")
        else:
            for line in measure_memory(cold.argv, tree, timeout):
                print(line)
        print()

    # -- results
    ruff_median = ruff_step.median if ruff_step else None

    def ratio(step: Step) -> Optional[float]:
        if step.median is None or not ruff_median:
            return None
        return step.median / ruff_median

    print(f"results ({args.repeat} runs per step; seconds):")
    print(f"  {'step':<16} {'median':>9} {'min':>9} {'max':>9} {'x ruff':>8}")
    for step in steps:
        if step.failure:
            print(f"  {step.name:<16} {'FAILED':>9}   {step.failure}")
            continue
        print(f"  {step.name:<16} {fmt(step.median):>9} {fmt(min(step.times)):>9} {fmt(max(step.times)):>9} "
              f"{fmt(ratio(step), 2):>8}")
    print()

    print(f"{files} Python files, {lines} lines ({size / 1e6:.1f} MB); {platform.system()}, "
          f"{os.cpu_count()} CPUs; Python {pl_python_version}; "
          f"{output_of([ruff, '--version']) if ruff else 'ruff skipped'}; {output_of([pool_lint, '--version'])}; "
          f"pool-lint {jobs_text}" + (f" {args.pool_lint_args}" if extra else "") + f"; median of {args.repeat} runs.")
    print()
    print("| step | median s | × ruff |")
    print("|---|---:|---:|")
    for step in steps:
        if step.failure:
            print(f"| {step.name} | failed: {step.failure} | n/a |")
        else:
            r = ratio(step)
            print(f"| {step.name} | {step.median:.3f} | {'n/a' if r is None else f'{r:.2f}'} |")
    print()

    def verdict(step: Step, limit: float) -> str:
        r = ratio(step)
        if step.failure:
            return f"n/a (pool-lint {step.name.split()[-1]} failed: {step.failure})"
        if r is None:
            return "n/a (no ruff timing)"
        return f"{'yes' if r <= limit else 'NO'} ({r:.2f} × ruff)"

    print(f"- cold <= {COLD_LIMIT:g} × ruff: {verdict(cold, COLD_LIMIT)}")
    print(f"- warm <= {WARM_LIMIT:g} × ruff: {verdict(warm, WARM_LIMIT)}" + (f" [{warm.note}]" if warm.note else ""))
    failed = [s.name for s in steps if s.failure]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
