"""Sealed messages accepted per second, and latency p50/p99, by the gateway against a bare aiosmtpd server.

Both servers run the same aiosmtpd on loopback, in their own process(es), and
write each message durably into a Maildir the same way (tmp, fsync, rename,
fsync of the folder); the bare one does nothing else, the gateway verifies the
envelope and signature, resolves the alias, and (row "+ trace") writes the
signed trace before its 250.  The load generator is one asyncio process
running 1, 10 or 50 SMTP clients, each on one connection sending message after
message (MAIL, RCPT, DATA: no pipelining); latency is MAIL to the 250 after DATA.

    .venv/bin/python bench/transport_gateway.py [--seconds 5] [--workers 2] [--append-results]
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "core"))

SERVER = r"""
import asyncio, os, sys
from aiosmtpd.smtp import SMTP
from pli.core.transport.delivery import MaildirDelivery
kind, config_path, port, workers, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if kind == "gateway":
    from pli.core.transport.gateway import run_gateway
    from pli.core.transport.gateway_config import load_gateway_config
    run_gateway(load_gateway_config(__import__("pathlib").Path(config_path)), ("127.0.0.1", port), workers)
    sys.exit(0)

class Bare:
    # Writes the message to a Maildir exactly as the gateway's delivery does: nothing more.
    def __init__(self):
        self.delivery = MaildirDelivery(__import__("pathlib").Path(root))
        self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = f"bare.{os.getpid()}.{self.n}"
        await asyncio.get_running_loop().run_in_executor(None, self.delivery.deliver, "bare", name,
                                                         envelope.original_content)
        return "250 2.0.0 Ok"

import socket
sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", port)); sock.listen(1024); sock.setblocking(False)
for _ in range(workers - 1):
    if os.fork() == 0:
        break
async def main():
    handler = Bare()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="bare", data_size_limit=26214400, decode_data=False), sock=sock)
    async with server:
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def _client(port: int, messages: list[bytes], stop_at: float, latencies: list[float], start: int) -> None:
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
    while time.monotonic() < stop_at:
        raw = messages[i % len(messages)]
        i += 1
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


async def _load(port: int, messages: list[bytes], clients: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    warm = time.monotonic() + 0.5
    await asyncio.gather(*(_client(port, messages, warm, [], c * 7) for c in range(clients)))
    start = time.monotonic()
    await asyncio.gather(*(_client(port, messages, start + seconds, latencies, c * 13) for c in range(clients)))
    return len(latencies) / (time.monotonic() - start), latencies


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
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="server processes (both servers alike)")
    parser.add_argument("--messages", type=int, default=300, help="distinct sealed messages to cycle through")
    parser.add_argument("--append-results", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()

    from transport_fixtures import Peers, gateway_config

    root = Path(tempfile.mkdtemp(prefix="pli-bench-gw-"))
    peers = Peers(root / "peers")
    messages = [_data(peers.sealed(subject=f"bench {i}")) for i in range(args.messages)]
    size = statistics.mean(len(m) for m in messages)
    servers = {
        "bare aiosmtpd + Maildir": ("bare", root / "bare.toml"),
        "pli gateway": ("gateway", gateway_config(root / "gw", peers, trace=False,
                                                  max_messages_per_minute=10 ** 9, max_connections_per_client=1000)),
        "pli gateway + trace": ("gateway", gateway_config(root / "gwt", peers, max_messages_per_minute=10 ** 9,
                                                          max_connections_per_client=1000)),
    }
    rows = []
    for label, (kind, config) in servers.items():
        proc, port = _serve(kind, config, args.workers, root / "bare-maildirs")
        try:
            for clients in (1, 10, 50):
                rate, latencies = asyncio.run(_load(port, messages, clients, args.seconds))
                rows.append((label, clients, rate, _pct(latencies, 0.5), _pct(latencies, 0.99)))
                print(f"{label:26} {clients:3} clients: {rate:7.0f} msg/s  p50 {rows[-1][3]:6.1f} ms  "
                      f"p99 {rows[-1][4]:6.1f} ms", flush=True)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)   # the server and the workers it forked
            proc.wait(10)
    shutil.rmtree(root, ignore_errors=True)
    table = _table(rows, size, args)
    print(table)
    if args.append_results:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write("\n" + table)
    return 0


def _table(rows, size: float, args) -> str:
    bare = {c: r for label, c, r, _, _ in rows if label.startswith("bare")}
    lines = [
        "## Transport", "",
        f"`bench/transport_gateway.py --seconds {args.seconds:g} --workers {args.workers}` on this 2-core machine: "
        f"sealed messages of {size / 1024:.1f} KiB on average, loopback, the load generator (one asyncio process) "
        "on the same two cores. Every server writes each message durably into a Maildir (tmp, fsync, rename, "
        "fsync dir) before its 250; the gateway also verifies envelope and signature against the trusted keys and "
        "resolves the alias; \"+ trace\" also writes the signed trace (group-committed) before the 250. "
        "Checking cost = bare throughput / gateway throughput at the same load.", "",
        "| server | clients | msgs/s | p50 | p99 | checking cost |",
        "|--------|--------:|-------:|----:|----:|--------------:|",
    ]
    for label, clients, rate, p50, p99 in rows:
        cost = "" if label.startswith("bare") else f"{bare[clients] / rate:.2f}x"
        lines.append(f"| {label} | {clients} | {rate:,.0f} | {p50:.1f} ms | {p99:.1f} ms | {cost} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
