"""Executors: how the chunks of a sweep run (here, in local processes, on a Dask cluster).

An executor (a *backend*) is a callable ``backend(fn, chunks)`` that yields ``(chunk, fn(chunk))``
pairs in any order; ``fn`` is :func:`wnlab.sweep.run_chunk` (a picklable top-level function) and the
chunks are plain dicts. :func:`serial_backend` runs them one after the other, :class:`ProcessBackend`
in local processes, :class:`DaskBackend` on a Dask cluster; :func:`with_array_backend` makes any of
them run the chunks on another array backend.

Dask (``wnlab sweep --scheduler tcp://HOST:PORT`` or ``--dask-local N``): :class:`DaskBackend` submits
one Dask task per chunk (hundreds to thousands of runs, solved by one :func:`wnlab.solve_batch`
call: one task per run would drown the scheduler) and yields ``(chunk, rows)`` as tasks complete
(``distributed.as_completed``), so the sweep stores each chunk the moment it arrives, with the same
resume rules as the local backends.

Fault tolerance is Dask's: when a worker dies, the scheduler re-runs the tasks it held (or whose
results it held and were not yet gathered) on the other workers; a chunk already gathered is
already on disk. ``retries`` re-runs a task that raised. Every chunk is deterministic (its runs
carry their seeds), so a re-run gives the same rows and the table equals a serial run -- byte for
byte when the workers use the same BLAS thread count as the serial run (a local cluster inherits
this process's ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS``; on a remote
cluster set them alike, or expect differences in the last digit, ~1e-15 relative).

Dask (``dask.distributed``) is an optional extra, imported only when a :class:`DaskBackend` is made.
Workers of an existing cluster need wnlab (same version) importable; file-based problems need the
files at the same path on every worker.
"""

from __future__ import annotations

import os

__all__ = ["DaskBackend", "ProcessBackend", "WorkerError", "serial_backend", "with_array_backend"]


def serial_backend(fn, chunks):
    """Run the chunks one after the other in this process."""
    for chunk in chunks:
        yield chunk, fn(chunk)


class WorkerError(RuntimeError):
    """A local worker process died (killed, out of memory) more often than the retries allow."""


class ProcessBackend:
    """Run chunks in ``workers`` local processes (``spawn`` start method, so it behaves the same on
    every platform); yields results as they complete.

    Fault handling, like Dask's: when a worker dies (killed, out of memory) the pool is rebuilt and
    the chunks that had not come back are run again, at most ``retries`` times in all; then a
    :class:`WorkerError` says so (every chunk already yielded is kept by the sweep). The workers
    die with this process: they ignore SIGINT (this process handles Ctrl-C and ends them), on Linux
    the kernel kills them when it dies (``PR_SET_PDEATHSIG``), and elsewhere each one watches its
    parent's pid and exits when it changes; an error or an interrupt here terminates them at once.
    """

    def __init__(self, workers: int, retries: int = 3):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"--workers must be an integer >= 1, got {workers!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        self.workers, self.retries = workers, retries

    def __call__(self, fn, chunks):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        todo = {id(c): c for c in chunks}
        deaths = []
        while todo:
            ex = ProcessPoolExecutor(min(self.workers, len(todo)), mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_worker_init, initargs=(os.getpid(),))
            clean = False
            try:
                pending = {ex.submit(fn, c): c for c in todo.values()}
                procs = list((getattr(ex, "_processes", None) or {}).values())  # (private API: for the message)
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    broken = False
                    for fut in done:
                        chunk = pending.pop(fut)
                        try:
                            rows = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        del todo[id(chunk)]
                        yield chunk, rows
                    if broken:
                        deaths.append(_exit_codes(procs))
                        break
                clean = not pending
            finally:
                _stop(ex, clean)
            if todo and len(deaths) > self.retries:
                raise WorkerError(
                    f"a local worker process died {len(deaths)} times ({_how(deaths[-1])}), more than the "
                    f"{self.retries} retries allow; finished chunks are kept: run the same command again to "
                    "resume, with fewer --workers or a smaller sweep.chunk_size if memory is short")


def _exit_codes(procs) -> list:
    """The exit codes of the pool's dead processes (for the message; best effort)."""
    codes = []
    for proc in procs:
        try:
            proc.join(timeout=5)  # it is dead or being terminated: reap it to read its code
        except (OSError, ValueError, AssertionError):
            continue
        if proc.exitcode not in (None, 0):
            codes.append(proc.exitcode)
    return codes


def _how(codes) -> str:
    """``killed by SIGKILL, often the out-of-memory killer`` / ``exit code 9`` / ``cause unknown``."""
    import signal

    codes = set(codes)
    if len(codes) > 1:
        codes.discard(-signal.SIGTERM)  # the pool terminates the other workers when one dies
    if not codes:
        return "cause unknown"
    names = {n.value: n.name for n in signal.Signals}
    parts = [f"killed by {names.get(-c, -c)}" for c in sorted(codes) if c < 0]
    parts += [f"exit code {c}" for c in sorted(codes) if c > 0]
    return ", ".join(parts) + (", often the out-of-memory killer" if -signal.SIGKILL in codes else "")


def _stop(ex, clean: bool) -> None:
    """Shut the pool down; unless it finished cleanly (an error, an interrupt, a dead worker), terminate
    its processes first instead of waiting for their chunks."""
    if not clean:
        for proc in list((getattr(ex, "_processes", None) or {}).values()):
            try:
                proc.terminate()
            except (OSError, ValueError, AttributeError):
                pass
    ex.shutdown(wait=True, cancel_futures=True)


def _worker_init(parent_pid: int) -> None:
    """In each local worker: leave Ctrl-C to the parent, and die with it."""
    import signal
    import sys
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="wnlab-watch-parent").start()


def _watch_parent(parent_pid: int, every: float = 0.5) -> None:
    """Exit as soon as the parent is gone (it is re-parented: the portable fallback of PDEATHSIG)."""
    import time

    while os.getppid() == parent_pid:
        time.sleep(every)
    os._exit(1)


def with_array_backend(backend, name: str):
    """Wrap an executor ``backend`` so that its chunks run on the array backend ``name`` (``"torch"``):
    the chunks get an ``array_backend`` entry (their keys and run ids are unchanged)."""
    if name == "auto":
        return backend
    return lambda fn, chunks: backend(fn, [dict(c, array_backend=name) for c in chunks])


class DaskBackend:
    """Submit sweep chunks to a Dask cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler, e.g. ``"tcp://10.0.0.5:8786"`` (any deployment:
        dask-jobqueue on Slurm, Kubernetes, ``dask scheduler`` by hand).
    local_workers : int, optional
        Start a ``LocalCluster`` with this many worker processes (one thread each) on 127.0.0.1
        instead, closed when the sweep ends.
    retries : int
        Times a task that raised is re-submitted (worker deaths are handled by the scheduler).
    timeout : float
        Seconds to wait for the scheduler to answer (connect and handshake) before giving up with a
        ``ValueError``: an address that accepts TCP but is not an answering Dask scheduler fails
        within this time instead of hanging.

    Attributes
    ----------
    client : distributed.Client or None
        The client while chunks are running (for monitoring; ``None`` otherwise).
    """

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None, retries: int = 2,
                 timeout: float = 30.0):
        if (scheduler is None) == (local_workers is None):
            raise ValueError("pass either a scheduler address (--scheduler tcp://HOST:PORT) or a number of "
                             "local workers (--dask-local N), not both")
        if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
            raise ValueError(f"--scheduler must be an address like tcp://HOST:PORT, got {scheduler!r}")
        if local_workers is not None and (isinstance(local_workers, bool) or not isinstance(local_workers, int)
                                          or local_workers < 1):
            raise ValueError(f"--dask-local must be an integer >= 1, got {local_workers!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self.scheduler, self.local_workers, self.retries, self.timeout = scheduler, local_workers, retries, timeout
        self.client = None
        _import_distributed()  # fail early, with advice, if Dask is missing

    def __repr__(self):
        where = self.scheduler or f"LocalCluster({self.local_workers} workers, 127.0.0.1)"
        return f"DaskBackend({where})"

    def _connect(self):
        distributed = _import_distributed()
        if self.scheduler is not None:
            _probe_scheduler(self.scheduler, self.timeout)
            try:
                return distributed.Client(self.scheduler, timeout=f"{self.timeout}s"), None
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        import dask

        with dask.config.set({"distributed.nanny.pre-spawn-environ": _same_threads_environ(dask)}):
            cluster = distributed.LocalCluster(n_workers=self.local_workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address=":0")  # None still takes 8787
        return distributed.Client(cluster), cluster

    def __call__(self, fn, chunks):
        chunks = list(chunks)
        if not chunks:
            return
        distributed = _import_distributed()
        client, cluster = self._connect()
        self.client = client
        try:
            futures = {client.submit(fn, c, key=f"wnlab-chunk-{c['key']}", pure=False, retries=self.retries): c
                       for c in chunks}
            # with_results: the loop thread gathers each result, so this thread only ever waits on a
            # plain condition; a Ctrl-C landing inside Future.result()'s cross-thread wait makes
            # distributed (2026.8) log a NameError traceback from its cancel callback.
            for fut, rows in distributed.as_completed(futures, with_results=True):
                if isinstance(rows, BaseException):  # cancelled under us, as Future.result() raises it
                    raise rows
                chunk = futures.pop(fut)
                fut.release()
                yield chunk, rows
        finally:
            self.client = None
            if cluster is None:
                client.close()
            else:
                _close_quietly(client, cluster)


def _close_quietly(client, cluster) -> None:
    """Close a local cluster (ours alone) without Dask's logs of its own shutdown races: a worker's
    heartbeat or fetch in flight when the scheduler goes logs a ``CommClosedError`` traceback, more
    often when the close follows a Ctrl-C with chunks running, and a Ctrl-C during the close itself
    lands in Dask's cross-thread waits. Its workers log nothing more (they exit with it) and, while
    it closes, neither do Dask's handlers here."""
    import logging

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("distributed", "tornado")]
    handlers = {h for name in names for h in logging.getLogger(name).handlers}
    levels = {h: h.level for h in handlers}
    for h in handlers:  # (first: a Ctrl-C landing in the calls below makes Dask log a NameError traceback)
        h.setLevel(logging.CRITICAL + 1)
    try:
        try:
            client.run(_mute_logging)
        except Exception:  # (workers already gone: nothing to mute)
            pass
        client.close()
    finally:
        try:
            cluster.close()
        finally:
            for h, level in levels.items():
                h.setLevel(level)


def _mute_logging() -> None:
    """Run on each worker of a local cluster just before it closes."""
    import logging

    logging.disable(logging.CRITICAL)


def _probe_scheduler(address: str, timeout: float) -> None:
    """Ask the scheduler at ``address`` who it is, within ``timeout`` seconds in all (``Client``'s own
    timeout does not bound the handshake: a port that accepts TCP and never answers hangs it)."""
    import asyncio

    from distributed.comm import connect

    async def identity():
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded():
        return await asyncio.wait_for(identity(), timeout)

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: no event loop in this thread
            reply = asyncio.run(bounded())
        else:  # called from a running loop (a notebook): probe from a thread of its own
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                reply = pool.submit(asyncio.run, bounded()).result()
    except TimeoutError:
        raise ValueError(f"no answer from a Dask scheduler at {address} within {timeout:g} s (nothing listens "
                         "there, or something that is not a Dask scheduler of a compatible version); check "
                         "the address") from None
    except (OSError, ValueError, TypeError, EOFError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {str(exc) or type(exc).__name__}") from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise ValueError(f"{address} answered, but not as a Dask scheduler ({str(reply)[:80]!r})")


def _same_threads_environ(dask) -> dict:
    """Dask's worker environment, but with this process's BLAS/OpenMP thread settings: Dask pins
    workers to 1 BLAS thread, and a different thread count changes the last bits of LAPACK's SVD
    (1e-15), so a local cluster would not give the serial run's table byte for byte."""
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    for var in _THREAD_VARS:
        if var in os.environ:
            env[var] = os.environ[var]
        else:
            env.pop(var, None)
    return env


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ValueError("the Dask backend needs dask.distributed: pip install 'wnlab[dask]'") from None
    return distributed
