"""Answer read-only SPARQL queries in a bounded pool of worker processes, with a time limit that stops them.

Neither rdflib's parser nor Oxigraph's evaluation can be interrupted from another thread, so each
query is parsed, checked and evaluated in a worker process that opens the store read-only. A query
still running at its limit (parsing counts) is stopped by killing its worker, which is replaced.
A query that runs past a second gets its worker's priority lowered (and that worker is replaced
after it), so slow queries leave the CPU to quick ones. Queries beyond the pool wait in a bounded
queue; beyond the queue they are refused at once (`QueryBusyError`).

The runner notices when the graph directory changes (looked at once a second at most), rebuilds the
store, and the workers reopen it before their next query: ``kgbuild remove`` shows without a restart.
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kgbuild.errors import KgBuildError, QueryBusyError, QueryFailedError, QueryTimeoutError
from kgbuild.rdf.query import QueryResult
from kgbuild.rdf.store import KnowledgeGraphDir

RENICE_AFTER = 1.0  # seconds: a query running longer is a slow one
CHECK_EVERY = 1.0  # seconds between looks at the graph directory
_STARTUP = 60.0  # seconds a new worker may take to open the store
_STARTUP_WAIT = 5.0  # seconds a query may wait for a free worker, at least
_log = logging.getLogger(__name__)


class _Worker:
    """One worker process (``python -m kgbuild.rdf.worker``) and the pipes to it."""

    def __init__(self, store_path: str, generation: int):
        from multiprocessing.connection import Connection

        to_child, to_us = os.pipe(), os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))
        arguments = [str(to_child[0]), str(to_us[1]), store_path, str(generation)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kgbuild.rdf.worker", *arguments],
            pass_fds=(to_child[0], to_us[1]), stdin=subprocess.DEVNULL, env=environment,
        )  # fmt: skip
        os.close(to_child[0])
        os.close(to_us[1])
        self.requests = Connection(to_child[1], readable=False)
        self.answers = Connection(to_us[0], writable=False)
        self.reniced = False

    def ready(self) -> bool:
        """Wait until the worker has opened the store; False if it could not."""
        try:
            return bool(self.answers.poll(_STARTUP)) and self.answers.recv()[0] == "ready"
        except (EOFError, OSError):
            return False

    def renice(self) -> None:
        """Lower the worker's CPU priority (it cannot be raised again, so the worker is replaced later)."""
        try:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, 10)
            self.reniced = True
        except OSError:  # the process already ended
            pass

    def stop(self) -> None:
        """Kill the process and wait for it, so that it leaves no thread, memory or CPU behind."""
        self.process.kill()
        self.process.wait(timeout=10)
        self.requests.close()
        self.answers.close()


class QueryRunner:
    """Run read-only SPARQL queries over a knowledge graph with time, row and concurrency limits.

    Args:
        kg_dir: the knowledge-graph directory.
        workers: worker processes, i.e. queries evaluated at once.
        timeout: seconds a query may take, parsing included; a query waits as long (5 s at least) for a worker.
        row_limit: most rows (or triples) a result holds; `QueryResult.cut` says when it cut.
        queue: queries that may wait for a worker; more are refused at once with `QueryBusyError`.

    """

    def __init__(
        self, kg_dir: str | Path, workers: int = 4, timeout: float = 10.0, row_limit: int = 10_000, queue: int = 64
    ):
        if workers <= 0 or timeout <= 0 or row_limit <= 0 or queue < 0:
            raise ValueError(
                f"workers, timeout and row_limit must be > 0 and queue >= 0, got {workers}, {timeout}, "
                f"{row_limit}, {queue}"
            )
        self.kg = KnowledgeGraphDir(kg_dir)
        self.workers, self.timeout, self.row_limit, self.queue = workers, timeout, row_limit, queue
        self._store_path = str(self.kg.path / "store")
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._waiters: collections.deque[Any] = collections.deque()  # asyncio futures of queries waiting
        self._all: set[_Worker] = set()
        self._admitted = 0
        self._closed = False
        self._generation, self._stamp, self._checked_at = 0, "", float("-inf")
        self._last_marks: tuple[int, ...] = ()
        self._refresh_lock = threading.Lock()
        self._refresh()
        starting = [_Worker(self._store_path, self._generation) for _ in range(workers)]
        for worker in starting:
            self._all.add(worker)
            if not worker.ready():
                self.close()
                raise QueryFailedError(f"{self._store_path}: a query worker could not open the store")
            self._idle.append(worker)

    def __enter__(self) -> QueryRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (for monitoring)."""
        with self._lock:
            return [w.process.pid for w in self._all]

    def run(self, query: str) -> QueryResult:
        """Answer one query.

        Raises:
            QuerySyntaxError: it does not parse.
            QueryRefusedError: an update, ``SERVICE`` or ``LOAD``.
            QueryTimeoutError: it ran past the time limit (its worker was stopped).
            QueryBusyError: every worker is taken and the queue is full, or no worker came free in time.
            QueryFailedError: its evaluation failed, or the graph directory cannot be read.

        """
        self._admit()
        try:
            self._refresh()
            return self._ask(self._acquire(), query)
        finally:
            self._leave()

    async def run_async(self, query: str) -> QueryResult:
        """Answer one query from an event loop; waiting for the worker holds no thread (raises as `run` does)."""
        import asyncio

        self._admit()
        try:
            if time.monotonic() - self._checked_at >= CHECK_EVERY:  # a rebuild takes seconds: off the loop
                await asyncio.to_thread(self._refresh)
            wait = max(self.timeout, _STARTUP_WAIT)
            with self._lock:
                worker = self._idle.pop() if self._idle else None
                if worker is None:  # queue up: a released worker is handed to the first waiter
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters.append(waiter)
            if worker is None:
                try:
                    handed: _Worker = await asyncio.wait_for(waiter, wait)
                except TimeoutError:
                    message = f"busy: no query worker came free within {wait:g} s; try again shortly"
                    raise QueryBusyError(message) from None
                return await self._ask_async(handed, query)
            return await self._ask_async(worker, query)
        finally:
            self._leave()

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers, self._idle = list(self._all), []
            self._all.clear()
            self._lock.notify_all()
        for worker in workers:
            worker.stop()

    def _admit(self) -> None:
        with self._lock:
            if self._closed:
                raise QueryFailedError("the query runner is closed")
            if self._admitted >= self.workers + self.queue:
                raise QueryBusyError(f"busy: {self.workers} queries running, {self.queue} waiting; try again shortly")
            self._admitted += 1

    def _leave(self) -> None:
        with self._lock:
            self._admitted -= 1

    def _acquire(self) -> _Worker:
        wait = max(self.timeout, _STARTUP_WAIT)  # a short limit must not refuse queries while a worker restarts
        deadline = time.monotonic() + wait
        with self._lock:
            while not self._idle:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise QueryBusyError(f"busy: no query worker came free within {wait:g} s; try again shortly")
                self._lock.wait(left)
            return self._idle.pop()

    def _ask(self, worker: _Worker, query: str) -> QueryResult:
        deadline = time.monotonic() + self.timeout
        try:
            worker.requests.send((self._generation, query, self.row_limit))
            answered = worker.answers.poll(min(RENICE_AFTER, self.timeout))
            if not answered:
                worker.renice()
                answered = worker.answers.poll(max(0.0, deadline - time.monotonic()))
            if not answered:
                self._replace(worker)
                raise QueryTimeoutError(f"the query ran past the {self.timeout:g} s time limit and was stopped")
            answer = worker.answers.recv()
        except (EOFError, OSError):
            self._replace(worker)
            raise QueryFailedError("query failed: its worker process ended (out of memory?)") from None
        return self._settle(worker, answer)

    async def _ask_async(self, worker: _Worker, query: str) -> QueryResult:
        deadline = time.monotonic() + self.timeout
        try:
            worker.requests.send((self._generation, query, self.row_limit))
            answered = await _readable(worker.answers, min(RENICE_AFTER, self.timeout))
            if not answered:
                worker.renice()
                answered = await _readable(worker.answers, max(0.0, deadline - time.monotonic()))
            answer = worker.answers.recv() if answered else None
        except (EOFError, OSError):
            self._replace(worker)
            raise QueryFailedError("query failed: its worker process ended (out of memory?)") from None
        except BaseException:  # cancelled: the worker's answer would be left unread in its pipe
            self._replace(worker)
            raise
        if answer is None:
            self._replace(worker)
            raise QueryTimeoutError(f"the query ran past the {self.timeout:g} s time limit and was stopped")
        return self._settle(worker, answer)

    def _settle(self, worker: _Worker, answer: tuple[str, Any]) -> QueryResult:
        """Give the worker back (or replace it, if it was lowered in priority); return or raise its answer."""
        if worker.reniced:
            self._replace(worker)
        else:
            self._release(worker)
        status, payload = answer
        if status == "error":
            raise payload
        result: QueryResult = payload
        return result

    def _release(self, worker: _Worker) -> None:
        """Hand a free worker to the first query waiting on an event loop, or put it back in the pool."""
        with self._lock:
            if self._closed:
                return
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.get_loop().call_soon_threadsafe(self._hand, waiter, worker)
                    return
            self._idle.append(worker)
            self._lock.notify()

    def _hand(self, waiter: Any, worker: _Worker) -> None:
        if waiter.done():  # it timed out meanwhile: the next one gets the worker
            self._release(worker)
        else:
            waiter.set_result(worker)

    def _replace(self, worker: _Worker) -> None:
        """Stop a worker and start another in the background; it joins the pool once it has opened the store."""
        with self._lock:
            known = worker in self._all  # not replaced twice, nor after close
            self._all.discard(worker)
        worker.stop()
        if known:
            threading.Thread(target=self._start_worker, daemon=True).start()

    def _start_worker(self) -> None:
        for attempt in range(5):
            with self._lock:
                if self._closed:
                    return
            worker = _Worker(self._store_path, self._generation)
            if worker.ready():
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._all.add(worker)
                if not closed:
                    self._release(worker)
                    return
            worker.stop()
            time.sleep(0.5 * (attempt + 1))  # the store may be in the middle of a rebuild
        _log.error("a query worker could not open %s; the pool has one worker fewer", self._store_path)

    def _marks(self) -> tuple[int, ...]:
        folders = (self.kg.path, self.kg.documents, self.kg.runs)
        return tuple(folder.stat().st_mtime_ns if folder.is_dir() else 0 for folder in folders)

    def _refresh(self) -> None:
        """Rebuild the store when the graph's files changed since the last look; workers reopen it.

        Documents and run records are written by rename and removed by unlink, which changes their
        folder's modification time: three stat calls a second, and the files are listed only then.
        """
        if time.monotonic() - self._checked_at < CHECK_EVERY:
            return
        with self._refresh_lock:
            if time.monotonic() - self._checked_at < CHECK_EVERY:
                return
            try:
                marks = self._marks()
                stamp = self._stamp if marks == self._last_marks else self.kg.stamp()
                self._last_marks = marks
                if stamp != self._stamp:
                    self.kg.store()  # rebuilds when stale; the read-only handle it returns is dropped
                    self._generation += bool(self._stamp)
                    self._stamp = stamp
            except (KgBuildError, OSError) as error:
                raise QueryFailedError(f"{self.kg.path}: cannot read the graph ({error})") from None
            self._checked_at = time.monotonic()


async def _readable(connection: Any, timeout: float) -> bool:
    """Wait, without blocking the event loop, until a pipe has something to read; False after `timeout` seconds."""
    import asyncio

    if connection.poll(0):
        return True
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    descriptor = connection.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(True)

    loop.add_reader(descriptor, wake)
    try:
        await asyncio.wait_for(ready, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(descriptor)


def run_query(kg_dir: str | Path, query: str, timeout: float = 60.0, row_limit: int = 10_000) -> QueryResult:
    """Answer one read-only query in a worker process of its own (see `QueryRunner.run` for the errors)."""
    with QueryRunner(kg_dir, workers=1, timeout=timeout, row_limit=row_limit, queue=0) as runner:
        return runner.run(query)
