"""Worker processes that end with the process that started them, however it ends (SIGKILL too).

The parse workers come from multiprocessing's forkserver, and multiprocessing runs a resource
tracker beside them. The forkserver and the tracker each read a pipe until EOF and then exit;
watcher holds the write end of both, but so does every worker, because the forkserver hands
both to each process it forks. A ProcessPoolExecutor worker (Python 3.11) waits for its next
task on a queue whose two ends it holds itself, so it never notices that watcher is gone: after
a SIGKILL an idle worker waits forever, and its copies of the two pipes keep the forkserver and
the tracker waiting with it. ``tie_to_parent`` (the pool's initializer, run in each worker
before its first task) undoes that knot:

1. On Linux the worker asks the kernel for SIGKILL when its parent ends (prctl PR_SET_PDEATHSIG).
   The kernel means the thread that forked it, which here is the forkserver's only thread, not
   one of watcher's threads that could end while watcher runs on. The signal needs nothing of
   the worker, so a worker stuck in a long parse, even in C code holding the GIL, is killed.
2. It closes its copy of the forkserver's "alive" pipe, so the forkserver ends as soon as
   watcher ends instead of waiting for its workers, and with it (1) ends the workers. Every
   worker arms (1) before it lets go of the pipe, so the forkserver cannot end before that.
3. Everywhere (macOS has no death signal): a thread waits on the worker's end of a pipe that
   only watcher holds open (multiprocessing's parent sentinel) and exits the worker when it
   closes. It needs the GIL, so a worker in a parse that holds the GIL goes when the parse does.

The tracker needs nothing: once watcher and its workers are gone, nobody holds its pipe.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing import forkserver

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1   # <linux/prctl.h>
ORPHANED = 1           # the exit status of a worker whose parent ended (nobody is left to read it)


def tie_to_parent() -> None:
    """Make this process (a multiprocessing child) end when the process that started it ends."""
    parent = multiprocessing.parent_process()
    if parent is None:      # not a multiprocessing child: there is no parent to follow
        return
    _die_with_parent_process()
    _release_forkserver()
    threading.Thread(target=_exit_after, args=(parent,), name="lifeline", daemon=True).start()


def _die_with_parent_process() -> None:
    """SIGKILL from the kernel when the parent process ends (Linux only; elsewhere a no-op)."""
    if sys.platform != "linux":
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("cannot ask for a signal when the parent process ends: %s", os.strerror(ctypes.get_errno()))
        return
    # The parent ended before the signal was armed, so nobody will send it. (The forkserver cannot
    # end on its own before that, it waits for this worker's copy of its pipe; killed from outside
    # even before the first getppid, it goes unseen here and the watch thread takes over.)
    if os.getppid() != parent:
        os._exit(ORPHANED)


def _release_forkserver() -> None:
    """Drop this process's copy of the write end of the forkserver's "alive" pipe (see above).

    multiprocessing keeps it in a private attribute (the same from Python 3.10 to 3.13); without
    it this does nothing, and the forkserver ends a moment later, once the workers have ended."""
    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if isinstance(fd, int):
        server._forkserver_alive_fd = None   # type: ignore[union-attr]
        os.close(fd)


def _exit_after(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()                 # returns when watcher's end of the sentinel pipe closes
    os._exit(ORPHANED)
