"""Where the catalog's tasks run: local worker processes, or a Dask cluster.

Both executors take the same tasks (plain functions of ``pipeline.catalog`` with picklable
arguments) and report the same events, so ``build_all`` does not care where work runs:

* ``("progress", task_id, message)`` while a task runs (beat by beat);
* ``("done", task_id, TaskOutcome)`` when it ends, with its log lines and either its
  value or the error text;
* ``("lost", task_id, reason)`` when the process running it died (killed, out of memory).

``submit`` hints: ``priority`` (higher runs first: the catalog finishes a video before it
starts planning the next) and ``prefer_worker`` (Dask: where the video was planned).

**Local** (:class:`LocalPool`): ``-j N`` spawned worker processes, each taking one task at
a time over a pipe. A worker that dies takes only its own task with it: the pool notices
(process sentinel), reports the task as lost and starts a replacement. Workers die with
the parent (``PR_SET_PDEATHSIG``), and SIGINT/SIGTERM in a worker unwind its task so its
temporary files are removed.

**Dask** (:class:`DaskPool`): the same tasks go to ``distributed.Client(address)``. Workers
on other machines cannot write our disk, so a task that runs there builds into its own
temporary directory (and its own segment cache, ``$SPINE_WORKER_CACHE`` or
``~/.cache/spinal-injections-animation``) and *returns the bytes* of what it made; the
client writes them into ``output/`` atomically. Progress travels as Dask worker events.
A worker whose string-hash seed differs from ours (Dask's nanny sets 6640) runs each task
in a child process with our seed, so it draws exactly what a local worker draws.
"""

from __future__ import annotations

from pipeline.errors import ClusterError
from spine.errors import one_line, shorten

import contextlib
import errno
import importlib
import importlib.util
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterable

PLUGINS_ENV = "SPINE_CATALOG_PLUGINS"
WORKER_CACHE_ENV = "SPINE_WORKER_CACHE"
PROGRESS_TOPIC = "spine-catalog-progress"
INTERRUPTED_STATUS = 130  # a worker's exit status after SIGINT/SIGTERM stopped its task

Event = tuple[str, str, Any]


@dataclass
class TaskOutcome:
    ok: bool
    value: Any = None
    error: str = ""  # one line
    detail: str = ""  # traceback
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker: str = ""


# ---------------------------------------------------------------------------------------
# Running one task (in whichever process)
# ---------------------------------------------------------------------------------------


def load_plugins(plugins: Iterable[str]) -> None:
    """Import test/extension modules (a module name or a .py path) and call their ``register()``."""
    for item in plugins:
        if not item:
            continue
        if item.endswith(".py"):
            name = Path(item).stem
            module = sys.modules.get(name)
            if module is None:
                spec = importlib.util.spec_from_file_location(name, item)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load plugin {item}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(item)
        register = getattr(module, "register", None)
        if callable(register):
            register()


def plugins_from_env() -> tuple[str, ...]:
    from spine.settings import settings

    return settings().plugins()  # PLUGINS_ENV


def run_task(
    fn: Callable, args: tuple, plugins: tuple[str, ...], emit: Callable[[Any], None] | None = None
) -> TaskOutcome:
    """Run ``fn(*args, report=...)``; never raises (except on interrupt): errors come back as data."""
    log: list[str] = []
    started = time.monotonic()

    def report(message: Any) -> None:
        """A str is a log line; anything else (e.g. a beat-done tuple) is only sent as progress."""
        if isinstance(message, str):
            log.append(f"{time.strftime('%H:%M:%S')} {message}")
        if emit is not None:
            with contextlib.suppress(Exception):
                emit(message)

    # A damaged cache entry met by the task is said in its log too (and, on a cluster, comes home).
    import logging

    class _ToReport(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            report(record.getMessage())

    forward = _ToReport(logging.WARNING)
    cache_log = logging.getLogger("spine.cache")
    cache_log.addHandler(forward)
    try:
        load_plugins(plugins)
        value = fn(*args, report=report)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a task's failure is data for the report
        detail = traceback.format_exc()
        log.extend(detail.rstrip().splitlines())
        first = (str(exc).strip().splitlines() or [""])[0]
        error = f"{type(exc).__name__}: {first}"
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            error = (
                f"no space left on the device writing {exc.filename}" if exc.filename else "no space left on the device"
            )
        return TaskOutcome(False, error=error[:300], detail=detail, log=log, seconds=time.monotonic() - started)
    finally:
        cache_log.removeHandler(forward)
    return TaskOutcome(True, value, log=log, seconds=time.monotonic() - started)


# ---------------------------------------------------------------------------------------
# Local worker processes
# ---------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask Linux to send us SIGTERM when the process that started us dies."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    # Once: a second signal (Ctrl-C reaches the whole group, then the parent asks again)
    # must not cut short the clean-up of temporary files that the first one started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def _worker_main(conn: Connection, parent_pid: int, threads: int = 0) -> None:
    if threads:  # its share of the cores for speech: two workers each with a thread per core ran 1.6x slower
        from voiceover.speech import SPEECH_THREADS_ENV

        os.environ[SPEECH_THREADS_ENV] = str(threads)
    _die_with_parent()
    # Locks that libraries make in this worker (tqdm's write lock, through Manim) are named
    # POSIX semaphores under the spawn start method, registered with the parent's resource
    # tracker: a worker killed outright left "leaked semaphore" warnings behind. With fork as
    # this process's default, such a lock is unlinked as soon as it is made (nothing to leak);
    # the worker starts no processes of its own.
    multiprocessing.set_start_method("fork", force=True)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        return
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            task_id, fn, args, plugins = message

            def emit(message: Any, task_id=task_id) -> None:
                conn.send(("progress", task_id, message))

            outcome = run_task(fn, args, plugins, emit)
            conn.send(("done", task_id, outcome))
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED_STATUS)


class _Worker:
    def __init__(self, ctx, threads: int = 0):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, os.getpid(), threads), daemon=True)
        self.process.start()
        child.close()
        self.task: str | None = None
        self.done = 0


class LocalPool:
    """``workers`` processes; one task each at a time; a dead worker loses only its task.

    A worker runs task after task, so Python, Manim, the mixing libraries and the anatomy
    model load once per worker, not once per video (about 2-3 s of CPU each). A video built
    after others in the same worker has the frames of one built in a fresh worker (tested);
    ``tasks_per_worker`` retires a worker after that many tasks (0: never).
    """

    ship_outputs = False

    def __init__(self, workers: int, plugins: tuple[str, ...] = (), tasks_per_worker: int = 0):
        self.size = max(1, int(workers))
        self.plugins = plugins
        self.tasks_per_worker = max(0, int(tasks_per_worker))
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.retired: list[_Worker] = []
        self.backlog: list[tuple[str, Callable, tuple, dict]] = []
        self.closed = False

    def describe(self) -> str:
        return f"{self.size} local worker process{'es' if self.size != 1 else ''}"

    def submit(self, task_id: str, fn: Callable, args: tuple, **hints) -> None:
        self.backlog.append((task_id, fn, args, hints))
        self._dispatch()

    def _dispatch(self) -> None:
        while self.backlog:
            idle = next((w for w in self.workers if w.task is None and w.process.is_alive()), None)
            if idle is None and len(self.workers) < self.size:
                idle = _Worker(self.ctx, threads=max(1, (os.cpu_count() or 1) // self.size))
                self.workers.append(idle)
            if idle is None:
                return
            # Highest priority first (finishing a video before starting another), then in order.
            best = max(range(len(self.backlog)), key=lambda i: (self.backlog[i][3].get("priority", 0), -i))
            task_id, fn, args, _ = self.backlog.pop(best)
            idle.task = task_id
            idle.conn.send((task_id, fn, args, self.plugins))

    def pending(self) -> int:
        return len(self.backlog) + sum(1 for w in self.workers if w.task is not None)

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        busy = [w for w in self.workers if w.task is not None]
        if not busy:
            return events
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
        for worker in busy:
            if worker.conn in ready:
                try:
                    while worker.conn.poll():
                        kind, task_id, payload = worker.conn.recv()
                        events.append((kind, task_id, payload))
                        if kind == "done":
                            worker.task = None
                            worker.done += 1
                            if self.tasks_per_worker and worker.done >= self.tasks_per_worker:
                                self._retire(worker)
                            break
                except (EOFError, OSError):
                    pass
            if worker.task is not None and not worker.process.is_alive():
                worker.process.join(0.1)
                code = worker.process.exitcode
                how = (
                    f"was killed by signal {-code}"
                    if code is not None and code < 0
                    else "was interrupted"
                    if code == INTERRUPTED_STATUS
                    else f"exited with status {code}"
                )
                events.append(("lost", worker.task, f"its worker process (pid {worker.process.pid}) {how}"))
                worker.task = None
                self.workers.remove(worker)
        self._dispatch()
        return events

    def _retire(self, worker: _Worker) -> None:
        """Tell a worker that has done its tasks to exit; a fresh one takes the next task."""
        with contextlib.suppress(OSError, BrokenPipeError):
            worker.conn.send(None)
        if worker in self.workers:
            self.workers.remove(worker)
        self.retired = [w for w in self.retired if w.process.is_alive()] + [worker]

    def shutdown(self, interrupt: bool = False) -> None:
        """Stop the workers; with ``interrupt``, running tasks are interrupted (they clean up)."""
        if self.closed:
            return
        self.closed = True
        self.backlog.clear()
        self.workers += self.retired
        self.retired = []
        for worker in self.workers:
            if interrupt and worker.process.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(worker.process.pid, signal.SIGTERM)
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(None)
        deadline = time.monotonic() + (10 if interrupt else 30)
        for worker in self.workers:
            worker.process.join(max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)
            worker.conn.close()
        self.workers.clear()


# ---------------------------------------------------------------------------------------
# Dask distributed
# ---------------------------------------------------------------------------------------


def worker_cache_dir() -> Path:
    """The segment/speech cache of a cluster worker (on the worker's machine)."""
    from spine.settings import settings

    return settings().worker_cache  # WORKER_CACHE_ENV


def run_on_dask_worker(
    task_id: str, fn: Callable, args: tuple, plugins: tuple[str, ...], hash_seed: str | None = None
) -> TaskOutcome:
    """What a Dask worker runs: the task, with its progress sent back as worker events.

    Dask's nanny starts workers with PYTHONHASHSEED=6640 (for its own hashing); render.py
    runs with 0, and set order, so drawing order, depends on it. A worker with another
    seed than the client's runs the task in a child process started with the client's.
    """
    try:
        from distributed import get_worker

        worker = get_worker()
        emit: Callable[[Any], None] | None

        def send(message: Any) -> None:
            worker.log_event(PROGRESS_TOPIC, {"task": task_id, "message": message})

        emit, address = send, worker.address
    except (ImportError, ValueError):
        emit, address = None, ""
    if hash_seed is None or _own_hash_seed() == hash_seed:
        outcome = run_task(fn, args, plugins, emit)
    else:
        outcome = _run_in_child(task_id, fn, args, plugins, emit, hash_seed)
    outcome.worker = address
    return outcome


def _own_hash_seed() -> str:
    from pipeline.freshness import hash_seed

    return hash_seed()


def _run_in_child(
    task_id: str, fn: Callable, args: tuple, plugins: tuple[str, ...], emit, hash_seed: str
) -> TaskOutcome:
    """Run one task in a child interpreter started with PYTHONHASHSEED=hash_seed.

    A plain subprocess (Dask's worker processes are daemons, which may not use
    multiprocessing); the request goes in on stdin, progress and the outcome come back as
    length-prefixed pickles on a pipe of their own (stdout is left to the libraries).
    """
    import pickle
    import subprocess

    root = Path(__file__).resolve().parents[1]
    read_fd, write_fd = os.pipe()
    env = dict(
        os.environ,
        PYTHONHASHSEED=hash_seed,
        PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", f"from pipeline.cluster import _child_main; _child_main({write_fd})"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=root,
        pass_fds=(write_fd,),
    )
    os.close(write_fd)
    assert child.stdin is not None  # stdin=PIPE
    try:
        child.stdin.write(pickle.dumps((fn, args, plugins), protocol=5))
        child.stdin.close()
        with os.fdopen(read_fd, "rb") as frames:
            while True:
                head = frames.read(8)
                if len(head) < 8:
                    break
                kind, payload = pickle.loads(frames.read(int.from_bytes(head, "big")))
                if kind == "progress" and emit is not None:
                    emit(payload)
                elif kind == "done":
                    return payload
        code = child.wait()
        return TaskOutcome(
            False,
            error=f"the task's child process exited with status {code}",
            log=[f"child process exited with status {code}"],
        )
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait()


def _child_main(fd: int) -> None:
    """The child side of :func:`_run_in_child`."""
    import pickle

    _die_with_parent()
    out = os.fdopen(fd, "wb")

    def send(kind: str, payload: Any) -> None:
        data = pickle.dumps((kind, payload), protocol=5)
        out.write(len(data).to_bytes(8, "big") + data)
        out.flush()

    fn, args, plugins = pickle.loads(sys.stdin.buffer.read())
    outcome = run_task(fn, args, plugins, lambda message: send("progress", message))
    send("done", outcome)
    out.close()


class DaskPool:
    """The same tasks on a Dask cluster; outputs come back as bytes (``ship_outputs``)."""

    ship_outputs = True

    def __init__(self, address: str, plugins: tuple[str, ...] = (), connect_timeout: float = 8, checked: bool = False):
        from distributed import Client

        if not checked:
            check_address(address, connect_timeout)
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (Exception, MemoryError) as exc:  # noqa: BLE001 - one line, whatever the client raised
            raise ClusterError(
                f"cannot reach the Dask scheduler at {shorten(address, 80)} ({one_line(exc)[:100]}); start one with "
                f"`dask scheduler` and point --cluster at it"
            ) from exc
        self.address = address
        self.plugins = plugins
        self.futures: dict[Any, str] = {}
        self.events: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        with contextlib.suppress(Exception):
            self.client.subscribe_topic(PROGRESS_TOPIC, self._on_event)
        workers = self.client.scheduler_info().get("workers", {})
        self.size = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.worker_count = len(workers)

    def describe(self) -> str:
        return f"Dask cluster {self.address} ({self.worker_count} workers, {self.size} threads)"

    def _on_event(self, event) -> None:
        _, msg = event if isinstance(event, tuple) and len(event) == 2 else (None, event)
        if isinstance(msg, dict) and "task" in msg:
            self.events.put(("progress", msg["task"], msg.get("message", "")))

    def submit(
        self, task_id: str, fn: Callable, args: tuple, prefer_worker: str | None = None, priority: int = 0, **_
    ) -> None:
        kwargs: dict[str, Any] = {
            "pure": False,
            "key": f"{task_id}-{os.getpid()}-{time.monotonic_ns()}",
            "priority": priority,
        }
        if prefer_worker:
            kwargs.update(workers=[prefer_worker], allow_other_workers=True)
        future = self.client.submit(run_on_dask_worker, task_id, fn, args, self.plugins, _own_hash_seed(), **kwargs)
        with self.lock:
            self.futures[future] = task_id

    def pending(self) -> int:
        return len(self.futures)

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        futures = list(self.futures)
        deadline = time.monotonic() + timeout
        while futures and not any(f.done() for f in futures) and self.events.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                break
        for future in futures:
            if not future.done():
                continue
            task_id = self.futures.pop(future)
            if future.status == "finished":
                events.append(("done", task_id, future.result()))
            else:
                exc = future.exception()
                events.append(("lost", task_id, f"the Dask task failed on the cluster: {type(exc).__name__}: {exc}"))
        return events

    def shutdown(self, interrupt: bool = False) -> None:
        with contextlib.suppress(Exception):
            if interrupt and self.futures:
                self.client.cancel(list(self.futures))
        self.futures.clear()
        with contextlib.suppress(Exception):
            self.client.close()


CLUSTER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_address(address: str, timeout: float = 8) -> None:
    """Refuse, within ``timeout`` seconds, a scheduler address that is malformed or does not answer.

    Checked before Dask's client is made: a client that fails to connect can take its own
    timeouts again on the way out (about 40 s for a wrong scheme).
    """
    import socket
    from urllib.parse import urlsplit

    shown = shorten(address, 80)
    hint = "give the scheduler's address like tcp://render-farm:8786 (start one with `dask scheduler`)"
    scheme, sep, rest = str(address).partition("://")
    if not sep:
        scheme, rest = "tcp", str(address)
    if scheme not in CLUSTER_SCHEMES:
        raise ClusterError(
            f"--cluster {shown}: unknown scheme '{shorten(scheme, 20)}' (known: {', '.join(CLUSTER_SCHEMES)}); {hint}"
        )
    if scheme not in ("tcp", "tls", "ws", "wss"):
        return
    try:
        parts = urlsplit(f"//{rest}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host:
        raise ClusterError(f"--cluster {shown}: no host in the address; {hint}")
    try:
        with socket.create_connection((host, port or 8786), timeout=timeout):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__ or "no answer"
        raise ClusterError(f"cannot reach the Dask scheduler at {shown} ({why}); {hint}") from None
    # Something listens: it must speak Dask's protocol (a handshake) within the timeout.
    import asyncio

    from distributed.comm import connect

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(handshake(), timeout))
    except (Exception, MemoryError) as exc:  # noqa: BLE001 - whatever answered is not a scheduler
        why = (str(exc).splitlines() or [""])[0][:100] or type(exc).__name__
        raise ClusterError(f"no Dask scheduler answers at {shown} ({why}); {hint}") from None
