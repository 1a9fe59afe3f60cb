"""The worker processes of a run: forked from this one and fed through pipes.

`concurrent.futures.ProcessPoolExecutor` costs a run tens of milliseconds in imports
alone, and a few more per task in its manager thread; the two stages of a run need much
less: tasks out, results back, in order, and workers that never wait on this process.
Each worker has a pipe for tasks and one for results (a length, then a pickle). Tasks go
out to a worker while it has fewer than AHEAD + 1 of them, so that it always has the
next one at hand, through non-blocking writes: this process never waits on a worker's
pipe while that worker waits on it. Where `os.fork` is missing (Windows) or unsafe
(macOS), `tasks.Workers` uses the executor instead.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import traceback
from collections import deque
from typing import Any, Callable, Dict, List, Optional, Tuple

AHEAD = 2  # tasks queued in a worker's pipe beyond the one it runs
_LENGTH = struct.Struct("<Q")


class WorkerError(RuntimeError):
    """A task failed in a worker (the message holds its traceback), or a worker died."""


class _Worker:
    __slots__ = ("pid", "tasks", "results", "out", "running")

    def __init__(self, pid: int, tasks: int, results: int):
        self.pid, self.tasks, self.results = pid, tasks, results
        self.out = bytearray()  # what is still to be written to its task pipe
        self.running = 0  # tasks sent and not answered


def _frame(value) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _read_exactly(fd: int, size: int) -> Optional[bytes]:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _receive(fd: int):
    """The next message from a pipe, or raises EOFError when its writer is gone."""
    head = _read_exactly(fd, _LENGTH.size)
    body = _read_exactly(fd, _LENGTH.unpack(head)[0]) if head is not None else None
    if body is None:
        raise EOFError
    return pickle.loads(body)


def _serve(tasks: int, results: int) -> None:
    """A worker's loop: run each task, send back (task id, (ok, value or traceback))."""
    while True:
        try:
            task_id, fn, arg = _receive(tasks)
        except EOFError:
            return
        try:
            answer = (True, fn(arg) if arg is not None else fn())
        except BaseException:  # noqa: B036 - reported to the parent, which raises it
            answer = (False, traceback.format_exc())
        data = memoryview(_frame((task_id, answer)))
        while data:
            data = data[os.write(results, data):]


RESULT_PIPE = 1 << 20  # bytes a worker can write before this process reads them (Linux)


def _widen(fd: int) -> None:
    """Let a result pipe hold RESULT_PIPE bytes where the system allows it (Linux: 64
    KiB by default): a worker whose results this process is too busy to read (it makes
    a project index) then goes on to its next task instead of waiting in `write`."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, RESULT_PIPE)
    except (ImportError, AttributeError, OSError):
        pass


class ForkedPool:
    """`jobs` worker processes forked from this one, each set up by `initializer`."""

    def __init__(self, jobs: int, initializer: Callable, initargs: Tuple = ()):
        self._workers: List[_Worker] = []
        self._queue: deque = deque()  # framed tasks not yet given to a worker
        self._results: Dict[int, Tuple[bool, Any]] = {}
        self._dropped: set = set()  # tasks run by `each`, whose results nobody waits for
        self._next = 0
        for _ in range(jobs):
            task_read, task_write = os.pipe()
            result_read, result_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                try:
                    os.close(task_write)
                    os.close(result_read)
                    for other in self._workers:
                        os.close(other.tasks)
                        os.close(other.results)
                    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C
                    initializer(*initargs)
                    _serve(task_read, result_write)
                except BaseException:  # noqa: B036 - nothing to report to: the parent sees EOF
                    pass
                finally:
                    os._exit(0)
            os.close(task_read)
            os.close(result_write)
            os.set_blocking(task_write, False)
            _widen(result_read)
            self._workers.append(_Worker(pid, task_write, result_read))

    # -- tasks ---------------------------------------------------------------------------
    def submit(self, fn: Callable, arg=None, worker: Optional[int] = None) -> int:
        """Queue `fn(arg)` (`fn()` without arg); returns its task id for `result`. With
        `worker` (an index), the task goes to that worker at once, after the tasks it
        holds, rather than to whichever is free first (a worker takes AHEAD + 1 tasks
        of the shared queue: two tasks queued together would both go to the first)."""
        task_id = self._next
        self._next += 1
        if worker is None:
            self._queue.append(_frame((task_id, fn, arg)))
        else:
            chosen = self._workers[worker % len(self._workers)]
            chosen.out += _frame((task_id, fn, arg))
            chosen.running += 1
        self._pump(block=False)
        return task_id

    def each(self, fn: Callable, arg=None, count: Optional[int] = None) -> None:
        """Have every worker (the first `count` of them) run `fn(arg)` (`fn()` without
        arg) once, after the tasks it holds (its result is dropped): a task of the shared
        queue goes to whichever worker is free first, and one worker could take every copy."""
        for worker in self._workers[:count]:
            task_id = self._next
            self._next += 1
            worker.out += _frame((task_id, fn, arg))
            worker.running += 1
            self._dropped.add(task_id)
        self._pump(block=False)

    def result(self, task_id: int):
        """Wait for a task's value; raises WorkerError if it failed."""
        while task_id not in self._results:
            self._pump(block=True)
        ok, value = self._results.pop(task_id)
        if not ok:
            raise WorkerError(f"a worker process failed:\n{value}")
        return value

    def _pump(self, block: bool) -> None:
        """Give out queued tasks, write what the pipes take, read what has come back;
        with `block`, wait until one result or some room in a pipe comes."""
        for worker in self._workers:
            while self._queue and worker.running <= AHEAD:
                worker.out += self._queue.popleft()
                worker.running += 1
        writers = [w.tasks for w in self._workers if w.out]
        readers = [w.results for w in self._workers if w.running]
        if not writers and not readers:
            if block:
                raise WorkerError("no task is running")
            return
        readable, writable, _ = select.select(readers, writers, [], None if block else 0)
        for worker in self._workers:
            if worker.tasks in writable:
                try:
                    del worker.out[:os.write(worker.tasks, worker.out)]
                except BlockingIOError:
                    pass
                except OSError as exc:
                    raise WorkerError(f"a worker process is gone ({exc})") from None
            if worker.results in readable:
                try:
                    task_id, answer = _receive(worker.results)
                except EOFError:
                    raise WorkerError("a worker process died") from None
                worker.running -= 1
                if task_id not in self._dropped:
                    self._results[task_id] = answer
                    continue
                self._dropped.discard(task_id)
                if not answer[0]:
                    raise WorkerError(f"a worker process failed:\n{answer[1]}")

    def shutdown(self) -> None:
        """End the workers: they exit when their task pipe closes; one still busy (this
        process is leaving early) is stopped."""
        for worker in self._workers:
            busy = worker.running > 0
            for fd in (worker.tasks, worker.results):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if busy:
                try:
                    os.kill(worker.pid, signal.SIGTERM)
                except OSError:
                    pass
        for worker in self._workers:
            try:
                os.waitpid(worker.pid, 0)
            except OSError:
                pass
        self._workers = []
