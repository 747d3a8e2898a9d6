"""Several processes serving one TCP port: one SO_REUSEPORT socket each, forked workers that die with their parent.

    run_workers(("0.0.0.0", 25), 2, serve)    # serve(sock) -> coroutine, run in each worker until it returns

Python runs one core per process; the gateway is stateless, so on a machine
with N cores N processes accept on the same port.  Each worker has its own
listening socket (SO_REUSEPORT): the kernel spreads new connections evenly
across them, where a single shared socket lets whichever process wakes first
take most of them.  All sockets are bound in the parent, before any fork, so
that a port in use fails once, plainly.  A worker gets SIGKILL when its parent
dies (PR_SET_PDEATHSIG), so a killed gateway never leaves orphans holding the
port; SIGTERM to the parent stops them all.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
from collections.abc import Awaitable, Callable

from pli.core.errors import PliError

PR_SET_PDEATHSIG = 1


class ListenFailed(PliError):
    """The port could not be opened (in use, or a privileged port without the capability)."""


def listening_sockets(listen: tuple[str, int], count: int) -> list[socket.socket]:
    """`count` non-blocking listening sockets on the same address (the port of the first if 0 was asked)."""
    host, port = listen
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if count > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(1024)
            sock.setblocking(False)
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise ListenFailed(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sockets


def run_workers(listen: tuple[str, int], workers: int, serve: Callable[[socket.socket], Awaitable[None]]) -> None:
    """Run `serve(sock)` in `workers` processes (this one included) until it returns in this one."""
    sockets = listening_sockets(listen, workers)
    signal.signal(signal.SIGTERM, _exit_quietly)   # until serve() installs its own: a stop is a stop
    children = []
    mine = sockets[0]
    parent = os.getpid()
    for sock in sockets[1:]:
        pid = os.fork()
        if pid == 0:
            _die_with_parent(parent)
            children, mine = [], sock
            break
        children.append(pid)
    for sock in sockets:
        if sock is not mine:
            sock.close()
    try:
        asyncio.run(serve(mine))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _exit_quietly(_signum, _frame) -> None:
    raise SystemExit(0)


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's SIGTERM still stops the workers
    if os.getppid() != parent:      # the parent died before prctl took effect
        os._exit(0)
