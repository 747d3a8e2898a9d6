"""Sealed messages per second, latency p50/p99 and server CPU per message: the gateway against a bare SMTP server.

Both servers run the same SMTP server on loopback (aiosmtpd with pli's
cheaper address and DATA reading, pli.core.transport.smtp_server.PliSMTP),
with the same number of processes (pli.core.transport.workers: one
SO_REUSEPORT socket per process), and write each message durably into a Maildir the same way (tmp, fsync,
rename, fsync of the folder); the bare one does nothing else, the gateway
verifies the envelope and signature, resolves the alias, and (row "+ trace")
writes the signed trace before its 250.  A "stock aiosmtpd" row runs the
bare handler on aiosmtpd as it comes, to show what PliSMTP saves.  The load generator is one asyncio
process of 1, 10 or 50 SMTP clients, each on one connection sending message
after message (MAIL, RCPT, DATA: no pipelining).  Two kinds of run:

  closed loop  each client sends its next message as soon as the last one is
               acknowledged: the rate is the server's capacity, and latency is
               mostly queueing (Little's law: clients / rate);
  open loop    (--rate R) the clients together offer R messages/s on a fixed
               schedule; latency runs from the moment a message was due to its
               250, so a server that falls behind pays for the backlog
               (no coordinated omission).

Server CPU per message (user + system time of every server process, from
/proc, divided by the messages acknowledged) is the steadiest figure on a
shared machine: it does not count the time the server waited for a core.

    .venv/bin/python bench/transport_gateway.py [--seconds 5] [--workers 2] [--rate 500] [--append-results]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "core"))

SERVER = r"""
import asyncio, os, sys
from pathlib import Path
from aiosmtpd.smtp import SMTP
from pli.core.transport.delivery import MaildirDelivery
from pli.core.transport.smtp_server import PliSMTP
from pli.core.transport.workers import run_workers
kind, config_path, port, workers, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if kind == "gateway":
    from pli.core.transport.gateway import run_gateway
    from pli.core.transport.gateway_config import load_gateway_config
    run_gateway(load_gateway_config(Path(config_path)), ("127.0.0.1", port), workers)
    sys.exit(0)

class Bare:
    # Writes the message to a Maildir exactly as the gateway's delivery does: nothing more.
    def __init__(self):
        self.delivery = MaildirDelivery(Path(root))
        self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = f"bare.{os.getpid()}.{self.n}"
        await asyncio.get_running_loop().run_in_executor(None, self.delivery.deliver, "bare", name,
                                                         envelope.original_content)
        return "250 2.0.0 Ok"

protocol = PliSMTP if kind == "bare" else SMTP     # "stock": aiosmtpd as it comes

async def serve(sock):
    handler = Bare()
    server = await asyncio.get_running_loop().create_server(
        lambda: protocol(handler, hostname="bare", data_size_limit=26214400, decode_data=False), sock=sock)
    async with server:
        await asyncio.Event().wait()

run_workers(("127.0.0.1", port), workers, serve)
"""


async def _client(port: int, messages: list[bytes], stop_at: float, latencies: list[float], start: int,
                  interval: float | None = None, phase: float = 0.0) -> None:
    """One SMTP connection sending until `stop_at`: back to back, or one message every `interval` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply() -> bytes:
        while True:
            line = await reader.readline()
            if line[3:4] != b"-":
                return line

    await reply()
    writer.write(b"EHLO bench.pli.test\r\n")
    await reply()
    i = start
    due = time.perf_counter() + phase
    while time.monotonic() < stop_at:
        raw = messages[i % len(messages)]
        i += 1
        if interval is not None:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t0, due = due, due + interval      # latency from when it was due, not from when it went
        else:
            t0 = time.perf_counter()
        writer.write(b"MAIL FROM:<alice@pli.test>\r\n")
        assert (await reply()).startswith(b"250")
        writer.write(b"RCPT TO:<bob@pli.test>\r\n")
        assert (await reply()).startswith(b"250")
        writer.write(b"DATA\r\n")
        assert (await reply()).startswith(b"354")
        writer.write(raw)
        answer = await reply()
        if not answer.startswith(b"250"):
            raise RuntimeError(f"server refused a message: {answer!r}")
        latencies.append(time.perf_counter() - t0)
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


@dataclass
class Run:
    label: str
    clients: int
    offered: float | None          # open loop: messages/s offered; None: closed loop
    rate: float
    p50: float
    p99: float
    cpu_ms: float                  # server CPU (all its processes) per acknowledged message
    client_ms: float               # the load generator's CPU per acknowledged message


async def _load(port: int, messages: list[bytes], clients: int, seconds: float, offered: float | None,
                server_pids) -> tuple[float, list[float], float, float]:
    interval = clients / offered if offered else None
    warm = time.monotonic() + 0.5
    await asyncio.gather(*(_client(port, messages, warm, [], c * 7) for c in range(clients)))
    latencies: list[float] = []
    cpu0, client0 = _cpu_seconds(server_pids()), time.process_time()
    start = time.monotonic()
    await asyncio.gather(*(_client(port, messages, start + seconds, latencies, c * 13, interval,
                                   (interval or 0) * c / clients) for c in range(clients)))
    elapsed = time.monotonic() - start
    cpu, client = _cpu_seconds(server_pids()) - cpu0, time.process_time() - client0
    count = max(1, len(latencies))
    return len(latencies) / elapsed, latencies, cpu / count * 1000, client / count * 1000


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (their threads included), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _group(pid: int):
    """The pids of a server: the process and the workers it forked (same process group)."""
    def pids() -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[2]) == pid:
                            found.append(int(entry))
                except (FileNotFoundError, ProcessLookupError, ValueError):
                    pass
        return found
    return pids


def _data(raw: bytes) -> bytes:
    from pli.core.transport.submission import crlf

    body = crlf(raw)
    body = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in body.split(b"\r\n"))
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def _serve(kind: str, config: Path, workers: int, root: Path) -> tuple[subprocess.Popen, int]:
    from transport_fixtures import free_port, wait_for_port

    port = free_port()
    env = dict(os.environ, PLI_GATEWAY_LOG="WARNING")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, kind, str(config), str(port), str(workers), str(root)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wait_for_port(port, proc=proc)
    return proc, port


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="server processes (both servers alike)")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="open-loop run: messages/s offered by 50 clients (0: skip it)")
    parser.add_argument("--messages", type=int, default=300, help="distinct sealed messages to cycle through")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp"),
                        help="where the Maildirs and the trace go (not /tmp: a watcher there slows file creation)")
    parser.add_argument("--append-results", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()

    from transport_fixtures import Peers, gateway_config

    root = Path(tempfile.mkdtemp(prefix="pli-bench-gw-", dir=args.work))
    peers = Peers(root / "peers")
    messages = [_data(peers.sealed(subject=f"bench {i}")) for i in range(args.messages)]
    size = statistics.mean(len(m) for m in messages)
    unlimited = dict(max_messages_per_minute=10 ** 9, max_connections_per_client=1000)
    servers = {
        "stock aiosmtpd + Maildir": ("stock", root / "bare.toml"),
        "bare aiosmtpd + Maildir": ("bare", root / "bare.toml"),
        "pli gateway": ("gateway", gateway_config(root / "gw", peers, trace=False, **unlimited)),
        "pli gateway + trace": ("gateway", gateway_config(root / "gwt", peers, **unlimited)),
    }
    loads = [(1, None), (10, None), (50, None)] + ([(50, args.rate)] if args.rate else [])
    runs = []
    for label, (kind, config) in servers.items():
        proc, port = _serve(kind, config, args.workers, root / "bare-maildirs")
        try:
            for clients, offered in loads:
                rate, latencies, cpu_ms, client_ms = asyncio.run(
                    _load(port, messages, clients, args.seconds, offered, _group(proc.pid)))
                run = Run(label, clients, offered, rate, _pct(latencies, 0.5), _pct(latencies, 0.99), cpu_ms,
                          client_ms)
                runs.append(run)
                how = f"offered {offered:4.0f}/s" if offered else "closed loop "
                print(f"{label:24} {clients:3} clients {how}: {rate:6.0f} msg/s  p50 {run.p50:6.1f} ms  "
                      f"p99 {run.p99:6.1f} ms  server CPU {cpu_ms:5.2f} ms/msg  client CPU {client_ms:5.2f} ms/msg",
                      flush=True)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)   # the server and its workers
            proc.wait(10)
    shutil.rmtree(root, ignore_errors=True)
    table = _table(runs, size, args)
    print(table)
    if args.append_results:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write("\n" + table)
    return 0


def _table(runs: list[Run], size: float, args) -> str:
    bare = {(r.clients, r.offered): r for r in runs if r.label.startswith("bare")}
    stock = [r for r in runs if r.label.startswith("stock")]
    lines = [
        f"`bench/transport_gateway.py --seconds {args.seconds:g} --workers {args.workers} --rate {args.rate:g}`: "
        f"sealed messages of {size / 1024:.1f} KiB on average, loopback, {args.workers} server processes, the "
        "load generator (one asyncio process) on the same cores. Checking cost: bare throughput / gateway "
        "throughput (closed loop), and gateway CPU / bare CPU per message.", "",
        "| server | clients | load | msgs/s | p50 | p99 | server CPU / msg | checking cost (rate, CPU) |",
        "|--------|--------:|------|-------:|----:|----:|-----------------:|--------------------------:|",
    ]
    for r in runs:
        ref = bare[r.clients, r.offered]
        if r in stock:
            lines.append(f"| {r.label} | {r.clients} | {'open' if r.offered else 'closed'} | {r.rate:,.0f} | "
                         f"{r.p50:.1f} ms | {r.p99:.1f} ms | {r.cpu_ms:.2f} ms | |")
            continue
        load = f"open, {r.offered:g}/s offered" if r.offered else "closed"
        cost = "" if r is ref else (f"{ref.rate / r.rate:.2f}x, " if not r.offered else "") + \
            f"{r.cpu_ms / ref.cpu_ms:.2f}x"
        lines.append(f"| {r.label} | {r.clients} | {load} | {r.rate:,.0f} | {r.p50:.1f} ms | {r.p99:.1f} ms | "
                     f"{r.cpu_ms:.2f} ms | {cost} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
