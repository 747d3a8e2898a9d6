"""PliSMTP reads addresses and DATA exactly as aiosmtpd does: the same streams, cut at random places, same answers."""
from __future__ import annotations

import asyncio
import random
import socket
import threading
from contextlib import contextmanager

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from pli.core.transport.smtp_server import PliSMTP

SIZE_LIMIT = 3000
PIECES = [b"a", b"bc", b".", b"..", b"\r", b"\n", b"\r\n", b" ", b"x" * 40, b"y" * 400, b"\r\n.", b".\r\n",
          b"\n.\r\n", b"\r\n.\n", b"\r\n..\r\n"]


class Keep:
    def __init__(self) -> None:
        self.contents: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.contents.append(envelope.original_content)
        return f"250 kept {len(envelope.original_content)}"


@contextmanager
def server(cls):
    handler = Keep()
    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(loop.create_server(
        lambda: cls(handler, hostname="t", data_size_limit=SIZE_LIMIT, decode_data=False), "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield srv.sockets[0].getsockname()[1], handler
    finally:
        loop.call_soon_threadsafe(srv.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture(scope="module")
def servers():
    with server(SMTP) as stock, server(PliSMTP) as ours:
        yield stock, ours


def transcript(port: int, stream: bytes, cuts: list[int]) -> bytes:
    """Everything the server answers to `stream`, sent in pieces cut at `cuts`."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        start = 0
        for cut in sorted(set(cuts)) + [len(stream)]:
            sock.sendall(stream[start:cut])
            start = cut
        answer = b""
        while not answer.endswith(b"221 Bye\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def session(payload: bytes) -> bytes:
    return (b"EHLO client\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n" + payload +
            b"NOOP\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n")


def compare(servers, payload: bytes, rng: random.Random) -> None:
    (stock_port, stock), (our_port, ours) = servers
    stream = session(payload)
    cuts = [rng.randrange(len(stream)) for _ in range(rng.randrange(0, 12))]
    before = len(stock.contents), len(ours.contents)
    expected = transcript(stock_port, stream, cuts)
    got = transcript(our_port, stream, cuts)
    assert got == expected
    assert ours.contents[before[1]:] == stock.contents[before[0]:]


def random_payload(rng: random.Random) -> bytes:
    """A mail whose first end marker is its last (what follows an earlier one would be junk commands,
    and a server that closes on junk resets the connection: the answers a client gets would vary)."""
    while True:
        lines = [b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 8)))
                 for _ in range(rng.randrange(0, 12))]
        body = b"\r\n".join(lines)
        payload = body + (b"\r\n" if body else b"") + b".\r\n"
        if (b"\r\n" + payload).find(b"\r\n.\r\n") == len(payload) - 3:
            return payload


def test_the_same_answers_and_mail_for_random_streams_cut_at_random_places(servers):
    rng = random.Random(20261129)
    for _ in range(300):
        compare(servers, random_payload(rng), rng)


@pytest.mark.parametrize("payload", [
    b".\r\n",                                        # an empty mail
    b"one line\r\n.\r\n",
    b"..stuffed\r\n.\r\n",
    b"a\n.\r\nstill the mail\r\n.\r\n",              # a bare LF before the dot: not the end (no smuggling)
    b"a\r\n.\nstill the mail\r\n.\r\n",
    b"a\r\n.x\r\n.\r\n",
    b"x" * 999 + b"\r\n.\r\n",                      # the longest line allowed ...
    b"x" * 1000 + b"\r\n.\r\n",                     # ... and one byte more
    (b"y" * 70 + b"\r\n") * 60 + b".\r\n",           # over the size limit: 552, the rest drained
    (b"y" * 70 + b"\r\n") * 41 + b"z" * 40 + b"\r\n.\r\n",   # at the limit, give or take a line
])
def test_edge_cases(servers, payload):
    compare(servers, payload, random.Random(len(payload)))


ADDRESS = st.text(alphabet="ab.-_+@<>\"[]: \t=Z9", max_size=30)


@settings(max_examples=400, deadline=None)
@given(arg=st.one_of(ADDRESS, st.builds(lambda a, r: f"<{a}>{r}", ADDRESS, ADDRESS)))
def test_addresses_are_read_as_aiosmtpd_reads_them(arg):
    stock, ours = SMTP.__new__(SMTP), PliSMTP.__new__(PliSMTP)
    stock.local_part_limit = ours.local_part_limit = 0
    assert outcome(ours._getaddr, arg) == outcome(stock._getaddr, arg)


def outcome(read, arg):
    """What reading gives, or the exception it raises (aiosmtpd's parser raises IndexError on some input)."""
    try:
        return read(arg)
    except Exception as error:  # noqa: BLE001 - the same failure is the same behaviour
        return type(error)
