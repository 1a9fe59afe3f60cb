"""The worker pool (pool_lint/workers.py): results in order, big messages both ways,
failures reported, no process left behind; and the run finds the same with it as with
concurrent.futures."""
from __future__ import annotations

import os
import time

import pytest

from pool_lint import runner
from pool_lint import tasks as run_tasks
from pool_lint.workers import ForkedPool, WorkerError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


def _echo(arg):
    return arg


def _big(size):
    return b"x" * size


def _fail(arg):
    raise ValueError(f"bad {arg}")


def _die(arg):
    os._exit(3)


def _sleep(seconds):
    time.sleep(seconds)
    return os.getpid()


def _now():
    return time.time()


def _steps_done():
    """How many idle-work steps had been done when this task ran."""
    path = _SETUP / "steps"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _sleep_then_mark(seconds):
    """Sleeps, then leaves a file: the file exists only if the task was allowed to finish."""
    time.sleep(seconds)
    (_SETUP / "finished").write_text("")
    return os.getpid()


def _setup(value):
    global _SETUP
    _SETUP = value


def _setup_value(_):
    return _SETUP


_SETUP = None


def _leave_pid():
    """Writes this worker's pid into the folder the pool was set up with."""
    (_SETUP / str(os.getpid())).write_text("")


def _fail_once():
    raise ValueError("warm-up broke")


@pytest.fixture
def pools():
    """ForkedPool(jobs, _setup, (value,)), shut down after the test."""
    made = []

    def make(jobs: int, value=None) -> ForkedPool:
        made.append(ForkedPool(jobs, _setup, (value,)))
        return made[-1]

    yield make
    for pool in made:
        pool.shutdown()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_results_come_back_in_order_and_big_messages_do_not_block(pools):
    pool = pools(2, "ready")
    tasks = [pool.submit(_echo, [i] * 1000) for i in range(50)]
    big_in = [pool.submit(_echo, b"y" * 3_000_000) for _ in range(3)]  # tasks far past a pipe's buffer
    big_out = [pool.submit(_big, 5_000_000) for _ in range(4)]  # and results
    assert [pool.result(t) for t in tasks] == [[i] * 1000 for i in range(50)]
    assert all(pool.result(t) == b"y" * 3_000_000 for t in big_in)
    assert all(len(pool.result(t)) == 5_000_000 for t in big_out)
    assert pool.result(pool.submit(_setup_value, 0)) == "ready"  # the initializer ran in the worker


def test_a_failing_task_is_reported_with_its_traceback_and_the_pool_goes_on(pools):
    pool = pools(2)
    with pytest.raises(WorkerError, match="ValueError: bad 7"):
        pool.result(pool.submit(_fail, 7))
    assert pool.result(pool.submit(_echo, "still here")) == "still here"


def test_a_worker_that_dies_is_reported(pools):
    pool = pools(1)
    with pytest.raises(WorkerError, match="died"):
        pool.result(pool.submit(_die, 0))


def test_each_runs_once_in_every_worker(pools, tmp_path):
    pool = pools(3, tmp_path)
    tasks = [pool.submit(_echo, i) for i in range(20)]  # the workers hold tasks already
    pool.each(_leave_pid)
    assert [pool.result(t) for t in tasks] == list(range(20))
    assert pool.result(pool.submit(_echo, "after")) == "after"
    deadline = time.monotonic() + 10
    while len(list(tmp_path.iterdir())) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(int(p.name) for p in tmp_path.iterdir()) == sorted(w.pid for w in pool._workers)


def test_a_task_given_to_a_worker_runs_there(pools):
    """submit(worker=i): queued tasks would all go to the first worker (it takes AHEAD + 1
    of them); addressed ones go where they are sent."""
    pool = pools(3)
    shared = [pool.submit(os.getpid) for _ in range(2)]
    assert len({pool.result(t) for t in shared}) == 1
    addressed = [pool.submit(os.getpid, worker=i) for i in range(3)]
    assert [pool.result(t) for t in addressed] == [w.pid for w in pool._workers]


def test_the_workers_hash_the_files_one_slice_each(tmp_path):
    """Workers.hash_files: with forked workers, each takes one slice of the files (which
    they inherit): the same answers as in this process, in order."""
    from pool_lint.config import Settings

    paths = []
    for i in range(120):
        path = tmp_path / f"m{i}.py"
        path.write_text(f"X = {i}\n" * (i + 1))
        paths.append(str(path))
    paths.append(str(tmp_path / "missing.py"))
    os.mkfifo(tmp_path / "pipe.py")
    paths.append(str(tmp_path / "pipe.py"))
    workers = run_tasks.Workers(2, Settings(), run_tasks.RunOptions(jobs=2))
    try:
        collect = workers.hash_files(paths)
        assert workers.pool is not None
        found = collect()
    finally:
        workers.close()
    assert found == run_tasks._hash_chunk(paths)
    assert found[-2:] == [(None, 0), (None, 0)] and found[0][1] == len("X = 0\n")


def test_a_failure_in_each_is_reported_by_the_next_wait(pools):
    pool = pools(2)
    pool.each(_fail_once)
    with pytest.raises(WorkerError, match="warm-up broke"):
        for _ in range(10):
            pool.result(pool.submit(_sleep, 0.01))


def test_shutdown_ends_every_worker_even_a_busy_one(pools, tmp_path):
    pool = pools(2, tmp_path)
    pids = {pool.result(pool.submit(_sleep, 0)) for _ in range(4)}
    pool.submit(_sleep_then_mark, 30)  # still running at shutdown
    time.sleep(0.2)  # let a worker start it
    pool.shutdown()
    assert pids and not any(_alive(pid) for pid in pids)
    assert not (tmp_path / "finished").exists()  # the busy worker was ended, not waited for


def test_the_run_finds_the_same_with_either_kind_of_pool(tmp_path, monkeypatch):
    from pool_lint.config import Settings
    from pool_lint.files import discover

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "db.py").write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine, async_sessionmaker\n"
        "engine = create_async_engine('postgresql+asyncpg://h/db')\n"
        "SessionLocal = async_sessionmaker(engine)\n")
    for i in range(60):
        (tmp_path / "app" / f"route_{i}.py").write_text(
            "import httpx\nfrom app.db import SessionLocal\n\n\n"
            f"async def handler_{i}(url):\n    async with SessionLocal() as session:\n"
            "        await session.execute('select 1')\n        await httpx.AsyncClient().get(url)\n")
    settings = Settings()
    targets, _ = discover([str(tmp_path)], settings)

    def found():
        result = runner.run(targets, settings, runner.RunOptions(jobs=2, use_cache=False))
        return sorted((f.filename, f.row, f.code) for f in result.findings)

    forked = found()
    monkeypatch.setattr(run_tasks, "_USE_EXECUTOR", True)
    assert found() == forked
    assert len([f for f in forked if f[2] == "POL201"]) == 60


def test_a_worker_writes_a_large_result_while_this_process_is_busy():
    """A result pipe holds RESULT_PIPE bytes where the system allows it: a worker writes
    a result of half a MiB and takes its next task while this process reads nothing."""
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("no pipe sizes here")
    from pool_lint.workers import RESULT_PIPE

    pool = ForkedPool(1, lambda: None)
    try:
        size = fcntl.fcntl(pool._workers[0].results, fcntl.F_GETPIPE_SZ)
        with open("/proc/sys/fs/pipe-max-size") as handle:
            assert size >= min(RESULT_PIPE, int(handle.read()))
        sent = time.time()
        first = pool.submit(_big, 500_000)
        second = pool.submit(_now)
        time.sleep(0.6)  # nothing read meanwhile: the worker must not wait in write()
        started = pool.result(second)
        assert started - sent < 0.4 and len(pool.result(first)) == 500_000
    finally:
        pool.shutdown()
