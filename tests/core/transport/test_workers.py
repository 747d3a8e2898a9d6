"""Several gateway processes on one port: they all serve, they die with their parent, a busy port fails plainly."""
from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from pli.core.transport.submission import crlf
from pli.core.transport.workers import ListenFailed, listening_sockets
from transport_fixtures import PLI, Peers, free_port, gateway_config, start_gateway


def _eventually(check, seconds: float = 5.0):
    """The first true value of check() within `seconds` (the kernel tears processes and sockets down
    a moment after the signal), else its last value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def _children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (from /proc: no procps needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _listening(port: int) -> bool:
    """Whether a socket listens on `port` (/proc/net/tcp; a connection being torn down there does not count)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return any(int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "0A" for row in rows)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:          # a zombie is dead for our purpose
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_two_workers_accept_mail_and_die_with_their_parent(tmp_path):
    peers = Peers(tmp_path / "peers")
    port = free_port()
    proc = start_gateway(gateway_config(tmp_path / "gw", peers), port, workers=2)
    try:
        [worker] = _eventually(lambda: _children(proc.pid))      # forked just after the port opened
        for _ in range(6):                           # new connections, spread by the kernel
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.ehlo("client")
                smtp.mail("alice@pli.test")
                smtp.rcpt("bob@pli.test")
                assert smtp.data(crlf(peers.sealed()))[0] == 250
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        assert _eventually(lambda: not _alive(worker)), "a worker outlived its killed parent"
        assert _eventually(lambda: not _listening(port)), "the port is still open"
    finally:
        proc.kill()
        proc.wait(5)
    assert len(list((tmp_path / "gw" / "mailboxes" / "mbox-7f3a91" / "new").iterdir())) == 6


def test_sigterm_stops_the_parent_and_its_workers(tmp_path):
    peers = Peers(tmp_path / "peers")
    port = free_port()
    proc = start_gateway(gateway_config(tmp_path / "gw", peers, trace=False), port, workers=3)
    try:
        workers = _eventually(lambda: len(_children(proc.pid)) == 2 and _children(proc.pid))
        assert workers, "the workers were not forked"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert _eventually(lambda: not any(_alive(pid) for pid in workers))
    finally:
        proc.kill()                    # its workers follow (PR_SET_PDEATHSIG)
        proc.wait(5)


def test_a_port_in_use_is_a_plain_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ListenFailed, match=f"127.0.0.1:{port}"):
            listening_sockets(("127.0.0.1", port), 2)
        peers = Peers(tmp_path / "peers")
        result = subprocess.run([*PLI, "gateway", "serve", "--listen", f"127.0.0.1:{port}", "--config",
                                 str(gateway_config(tmp_path / "gw", peers, trace=False)), "--workers", "2"],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
