"""Where the catalog's tasks run: one executor, Dask, on local worker processes or a farm.

:class:`DaskPool` takes the tasks (plain functions of ``pipeline.catalog`` and
``pipeline.beats`` with picklable arguments) and reports the same events wherever they run,
so ``build_all`` does not care where work runs:

* ``("progress", task_id, message)`` while a task runs (beat by beat; Dask worker events);
* ``("done", task_id, TaskOutcome)`` when it ends, with its log lines and either its
  value or the error text;
* ``("lost", task_id, reason)`` when the process running it died (killed, out of memory).

``submit`` hints: ``priority`` (higher runs first: the catalog finishes a video before it
starts planning the next) and ``prefer_worker`` (where the video was planned).

**Local** (:func:`local_pool`, ``-j N``): a Dask ``LocalCluster`` of N worker processes
with one thread each, on this machine, writing our disk. Each worker runs task after task
(Python, Manim and the anatomy model load once per worker). Its nanny starts it with our
string-hash seed (set order, so drawing order, depends on it), and with its share of the
cores for speech. A worker that dies loses only its own task, reported as lost with how it
died (no retry elsewhere); the nanny starts a new one. Workers exit when this process dies
(Dask watches the parent). Dask runs a task in a worker thread, which a signal cannot
unwind, so the workers keep every temporary file in one scratch folder under
``<cache>/work``, removed once the pool has stopped them (after a hard kill, by the next
run's sweep).

**Farm** (:func:`farm_pool`, ``--cluster ADDRESS``): the same tasks go to
``distributed.Client(address)``. Workers on other machines cannot write our disk, so a task
that runs there builds into its own temporary directory (and its own segment cache,
``$SPINE_WORKER_CACHE`` or ``~/.cache/spinal-injections-animation``) and *returns the
bytes* of what it made; the client writes them into ``output/`` atomically. A farm worker
whose string-hash seed differs from ours (a nanny's 6640) runs each task in a child process
with our seed, so it draws exactly what a local worker draws.
"""

from __future__ import annotations

from pipeline.errors import ClusterError
from spine.errors import one_line, shorten

import contextlib
import errno
import functools
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
from pathlib import Path
from typing import Any, Callable, Iterable

PLUGINS_ENV = "SPINE_CATALOG_PLUGINS"
WORKER_CACHE_ENV = "SPINE_WORKER_CACHE"
PROGRESS_TOPIC = "spine-catalog-progress"

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
# Dask distributed
# ---------------------------------------------------------------------------------------


def worker_cache_dir() -> Path:
    """The segment/speech cache of a cluster worker (on the worker's machine)."""
    from spine.settings import settings

    return settings().worker_cache  # WORKER_CACHE_ENV


def run_on_dask_worker(
    task_id: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    plugins: tuple[str, ...],
    hash_seed: str | None = None,
    local: bool = False,
) -> TaskOutcome:
    """What a Dask worker runs: the task, with its progress sent back as worker events.

    Our local workers start with our string-hash seed (:func:`local_pool`). A farm's worker
    started by a nanny has Dask's (6640); render.py runs with 0, and set order, so drawing
    order, depends on it: such a worker runs the task in a child process started with ours.
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
    if local:
        _settle_local_worker()
    if hash_seed is None or _own_hash_seed() == hash_seed:
        outcome = run_task(fn, args, plugins, emit)
    else:
        outcome = _run_in_child(task_id, fn, args, plugins, emit, hash_seed)
    outcome.worker = address
    return outcome


def dask_setup(worker: Any) -> None:  # noqa: ARG001 - Dask's preload hook
    """In each local worker as it starts (Dask calls it: ``preload``): Ctrl-C reaches the whole
    process group, and the build stops its workers itself; a worker that took the signal
    printed Dask's KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _settle_local_worker() -> None:
    """Once per local worker: locks that libraries make here (tqdm's write lock, through
    Manim) are named POSIX semaphores under the spawn start method, registered with our
    resource tracker, so a worker killed outright left "leaked semaphore" warnings behind.
    With fork as this process's default such a lock is unlinked as soon as it is made (the
    worker starts no processes through multiprocessing)."""
    if multiprocessing.get_start_method(allow_none=True) != "fork":
        multiprocessing.set_start_method("fork", force=True)


def _own_hash_seed() -> str:
    from pipeline.freshness import hash_seed

    return hash_seed()


def _run_in_child(
    task_id: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    plugins: tuple[str, ...],
    emit: Callable[[Any], None] | None,
    hash_seed: str,
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


def _die_with_parent() -> None:
    """Ask Linux to send us SIGTERM when the process that started us dies."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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
    """The catalog's executor: tasks on a Dask cluster, local (:func:`local_pool`) or a farm
    (:func:`farm_pool`). ``ship_outputs``: a farm's outputs come back as bytes."""

    def __init__(
        self,
        client: Any,
        plugins: tuple[str, ...] = (),
        *,
        ship_outputs: bool,
        label: str,
        local: bool = False,
        on_close: Callable[[bool], None] | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.client = client
        #: the local workers' scratch folder (on our disk, removed with the pool); None on a farm
        self.scratch = scratch
        self.plugins = plugins
        self.ship_outputs = ship_outputs
        self.label = label
        self.local = local
        self.on_close = on_close
        self.futures: dict[Any, str] = {}
        self.events: queue.Queue[Event] = queue.Queue()
        self.lock = threading.Lock()
        self.closed = False
        with contextlib.suppress(Exception):
            self.client.subscribe_topic(PROGRESS_TOPIC, self._on_event)
        workers = self.client.scheduler_info().get("workers", {})
        self.size = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.worker_count = len(workers)

    def describe(self) -> str:
        return self.label.format(workers=self.worker_count, threads=self.size, s="es" if self.size != 1 else "")

    def _on_event(self, event: Any) -> None:
        _, msg = event if isinstance(event, tuple) and len(event) == 2 else (None, event)
        if isinstance(msg, dict) and "task" in msg:
            self.events.put(("progress", msg["task"], msg.get("message", "")))

    def submit(
        self,
        task_id: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        prefer_worker: str | None = None,
        priority: int = 0,
        **_: Any,
    ) -> None:
        """Run ``fn(*args, report=...)`` on a worker; higher ``priority`` first."""
        kwargs: dict[str, Any] = {
            "pure": False,
            "key": f"{task_id}-{os.getpid()}-{time.monotonic_ns()}",
            "priority": priority,
        }
        if prefer_worker:
            kwargs.update(workers=[prefer_worker], allow_other_workers=True)
        future = self.client.submit(
            run_on_dask_worker,
            task_id,
            fn,
            args,
            self.plugins,
            None if self.local else _own_hash_seed(),  # a local worker starts with our seed
            self.local,
            **kwargs,
        )
        with self.lock:
            self.futures[future] = task_id

    def pending(self) -> int:
        return len(self.futures)

    def poll(self, timeout: float) -> list[Event]:
        """The events since the last poll, waiting up to ``timeout`` seconds for one."""
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
                events.append(("lost", task_id, self._why_lost(future.exception())))
        return events

    def _why_lost(self, exc: BaseException | None) -> str:
        """Say which worker process died and how (local), or what the cluster said (farm)."""
        last = getattr(getattr(exc, "last_worker", None), "address", None)
        death = _LOCAL_DEATHS.get(last) if self.local and last else None
        if death is not None:
            pid, code = death
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            return f"its worker process (pid {pid}) {how}"
        what = f"{type(exc).__name__}: {one_line(exc)[:200]}" if exc is not None else "no result"
        return f"the Dask task failed on the cluster: {what}"

    def shutdown(self, interrupt: bool = False) -> None:
        """Stop; with ``interrupt``, running tasks are cancelled (a local cluster's workers are
        stopped and their scratch folder removed)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            if interrupt and self.futures:
                self.client.cancel(list(self.futures))
        self.futures.clear()
        with contextlib.suppress(Exception):
            self.client.close()
        if self.on_close is not None:
            self.on_close(interrupt)


def farm_pool(
    address: str, plugins: tuple[str, ...] = (), connect_timeout: float = 8, checked: bool = False
) -> DaskPool:
    """The executor of ``--cluster ADDRESS``: a Dask scheduler's workers, outputs shipped home."""
    from distributed import Client

    if not checked:
        check_address(address, connect_timeout)
    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (Exception, MemoryError) as exc:  # noqa: BLE001 - one line, whatever the client raised
        raise ClusterError(
            f"cannot reach the Dask scheduler at {shorten(address, 80)} ({one_line(exc)[:100]}); start one with "
            f"`dask scheduler` and point --cluster at it"
        ) from exc
    shown = address.replace("{", "{{").replace("}", "}}")
    label = f"Dask cluster {shown} ({{workers}} workers, {{threads}} threads)"
    return DaskPool(client, plugins, ship_outputs=True, label=label)


WORKER_HASH_SEED = "0"
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# A local worker's death as its nanny saw it: worker address -> (pid, exit status; negative: signal).
_LOCAL_DEATHS: dict[str, tuple[int, int]] = {}


@functools.cache
def _local_nanny() -> type:
    """Dask's nanny, starting its worker with our string-hash seed and noting how it died.

    Seed 0 cannot come from ``distributed.nanny.pre-spawn-environ``: the nanny replaces a
    PYTHONHASHSEED of 0 by 6640 (dask/distributed#8400), for its own hashing, which the
    catalog's tasks do not use. The seed is set before the worker's interpreter starts.
    """
    from distributed import Nanny

    class LocalNanny(Nanny):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # 0, as render.py runs (not our os.environ's: a default LocalCluster made in this
            # process, as a test does, leaves the nanny's 6640 there)
            self.pre_spawn_env["PYTHONHASHSEED"] = WORKER_HASH_SEED  # read by the interpreter at start
            self.env["PYTHONHASHSEED"] = WORKER_HASH_SEED  # what the worker's os.environ says
            # Dask starts workers with one BLAS/OpenMP thread; the frames drawn after a
            # fast-forward then differed from one process's (measured: frames 61-88 of the
            # test video). A worker keeps our settings, as any process of ours does.
            for name in BLAS_THREAD_VARIABLES:
                self.pre_spawn_env.pop(name, None)
                self.env.pop(name, None)
            self._worker: tuple[str | None, int | None] = (None, None)

        async def instantiate(self) -> Any:
            status = await super().instantiate()
            self._worker = (self.worker_address, self.process.pid if self.process is not None else None)
            return status

        def _on_worker_exit_sync(self, exitcode: int) -> None:
            address, pid = self._worker
            if address and pid:
                _LOCAL_DEATHS[address] = (pid, exitcode)
            super()._on_worker_exit_sync(exitcode)

    return LocalNanny


def local_pool(workers: int, plugins: tuple[str, ...] = (), cache_dir: Path | None = None) -> DaskPool:
    """``workers`` local worker processes (a Dask ``LocalCluster``), each one task at a time.

    The same executor as a farm's, without shipping: workers write our disk. Each worker
    runs task after task (Python, Manim and the anatomy model load once per worker), with
    our string-hash seed, its share of the cores for speech, and its temporary files in one
    scratch folder under ``<cache>/work`` that goes with the pool (or, after a hard kill,
    with the next run's sweep). A worker that dies loses only its task, reported as lost
    (no retry on another worker: ``allowed-failures`` 0); its nanny starts a new one.
    """
    import logging
    import shutil
    import tempfile

    import dask
    from distributed import Client, LocalCluster

    from pipeline.cache import WORK_DIR
    from voiceover.speech import SPEECH_THREADS_ENV

    # the scheduler runs in this process: its start-up and closing lines are not ours to print
    # (``-q`` prints nothing but errors); a lost task is said once, by us
    logging.getLogger("distributed").setLevel(logging.ERROR)
    size = max(1, int(workers))
    base = Path(cache_dir) / WORK_DIR if cache_dir is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"workers-{os.getpid()}-", dir=base))
    env = {
        # its share of the cores for speech: two workers each with a thread per core ran 1.6x slower
        SPEECH_THREADS_ENV: str(max(1, (os.cpu_count() or 1) // size)),
        "TMPDIR": str(scratch),
    }
    try:
        settings = {
            "distributed.scheduler.allowed-failures": 0,
            "temporary-directory": str(scratch),
            "distributed.worker.profile.enabled": False,  # a sampling thread beside every task
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=size,
                threads_per_worker=1,
                processes=True,
                worker_class=_local_nanny(),
                env=env,
                local_directory=str(scratch),
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,  # a lost task is said once, by us, with how its worker died
                preload=["pipeline.cluster"],  # dask_setup below, in each worker as it starts
            )
            client = Client(cluster, set_as_default=False)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise

    def close(interrupt: bool) -> None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10 if interrupt else 30)
        shutil.rmtree(scratch, ignore_errors=True)  # the workers are gone: their temporary files go too

    label = "{workers} local worker process{s}"
    return DaskPool(client, plugins, ship_outputs=False, label=label, local=True, on_close=close, scratch=scratch)


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
