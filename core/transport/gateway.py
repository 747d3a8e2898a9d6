"""The receiving gateway: an SMTP server (aiosmtpd) for a domain that accepts only sealed, signed mail.

    run_gateway(load_gateway_config(path), listen=("0.0.0.0", 25))

Per message: RCPT resolves the public address through the alias table (the
mailbox it maps to is never named in a reply); DATA verifies the envelope's
structure and signature against the directory without any key to read it
(pli.core.crypto.verify), checks it is sealed for every recipient, writes it
durably (Maildir or LMTP), records the steps in the trace, and only then
answers 250.  Replies:

    550 5.7.1  plain mail, a forged, altered or unknown sender, not sealed for the recipient
    550 5.1.1  an address this gateway does not serve
    552 5.3.4  too big (max_message_bytes, announced as SIZE)
    452 4.3.1  disk or quota full          451 4.3.0  any internal fault (the client retries)
    421 / 450  too many connections / messages from one client

The gateway keeps no state of its own besides what it delivers and the trace:
several can run behind one MX name, each delivering to the same store.
Every answer about a message (250, 4xx, 5xx) is written to the trace first.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
import sys
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from pli.core.crypto.refusals import OpenError
from pli.core.crypto.verify import Checked, verify_mail
from pli.core.directory.resolve import Trust
from pli.core.errors import UsageError
from pli.core.home import Home
from pli.core.transport import decisions
from pli.core.transport.decisions import Answer, Claims, printable
from pli.core.transport.delivery import DeliveryFailed, NO_SPACE as NO_SPACE_ERRNOS, delivery_for, maildir_name
from pli.core.transport.gateway_config import GatewayConfig, Limits
from pli.core.transport.smtp_server import PliSMTP
from pli.core.transport.trace import TraceBatcher, gateway_journal
from pli.core.transport.workers import run_workers

log = logging.getLogger("pli.gateway")

#: What a sender is told, per refusal reason: enough to act on, nothing about this side's keys or mailboxes.
REFUSALS = {
    "unsealed": "550 5.7.1 refused (unsealed): this gateway accepts only sealed pli mail",
    "malformed": "550 5.7.1 refused (malformed): the pli envelope is damaged",
    "unsupported-version": "550 5.7.1 refused (unsupported-version): unknown pli envelope version",
    "unknown-sender": "550 5.7.1 refused (unknown-sender): the signing key is not a known sender's",
    "revoked-key": "550 5.7.1 refused (revoked-key): the signing key was revoked",
    "bad-signature": "550 5.7.1 refused (bad-signature): the envelope signature does not verify",
    "not-for-recipient": "550 5.7.1 refused (not-for-recipient): the envelope is not sealed for every recipient",
}
TEMPORARY = "451 4.3.0 temporary failure; try again later"
NO_SPACE = "452 4.3.1 insufficient system storage; try again later"
TRUST_RECHECK_SECONDS = 2.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


# -- who may connect, how often -------------------------------------------------------------------


@dataclass
class ClientLimiter:
    """Connections in total and per client address; messages per minute per client (sliding window)."""

    limits: Limits
    total: int = 0
    per_client: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recent: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))

    def open(self, client: str) -> bool:
        if self.total >= self.limits.max_connections or \
                self.per_client[client] >= self.limits.max_connections_per_client:
            return False
        self.total += 1
        self.per_client[client] += 1
        return True

    def close(self, client: str) -> None:
        self.total -= 1
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]

    def allow_message(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = self.recent[client]
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self.limits.max_messages_per_minute:
            return False
        times.append(now)
        return True


class TrustSource:
    """The trust (directory + correspondents) of the gateway's home, reloaded when its files change."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._stamp = None
        self._checked = 0.0
        self._trust = Trust()
        self.current()

    def _files(self):
        return (self.home.root / "directory" / "directory.pli", self.home.root / "directory" / "authority.pub",
                self.home.keyring / "correspondents.json", self.home.keyring / "public.json")

    def current(self) -> Trust:
        now = time.monotonic()
        if now - self._checked < TRUST_RECHECK_SECONDS:
            return self._trust
        self._checked = now
        stamp = tuple(_mtime(p) for p in self._files())
        if stamp != self._stamp:
            self._trust = Trust.of_home(self.home)
            self._stamp = stamp
            log.info("trust loaded from %s", self.home.root)
        return self._trust


def _mtime(path: Path):
    try:
        info = path.stat()
        return info.st_mtime_ns, info.st_size
    except FileNotFoundError:
        return None


# -- the SMTP side --------------------------------------------------------------------------------


class GatewaySMTP(PliSMTP):
    """PliSMTP with the connection limits applied before the greeting, and aiosmtpd's own refusals traced."""

    def __init__(self, handler, limiter: ClientLimiter, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.limiter = limiter
        self._client: str | None = None

    def connection_made(self, transport) -> None:
        if self._client is None and self.transport is None:   # not the STARTTLS re-entry
            client = _peer_address(transport.get_extra_info("peername"))
            if self.limiter.open(client):
                self._client = client
        super().connection_made(transport)

    def connection_lost(self, error) -> None:
        if self._client is not None:
            self.limiter.close(self._client)
            self._client = None
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._client is None:
            client = _peer_address(self.transport.get_extra_info("peername"))
            await self.event_handler.decide(Answer("deferred", "too-many-connections", "421 4.7.0"),
                                            Claims(client))
            await super().push("421 4.7.0 too many connections; try again later")
            self.transport.close()
            return
        await super()._handle_client()

    async def handle_exception(self, error: Exception) -> str:
        return await self.event_handler.handle_exception(error, _claims(self.session, self.envelope))

    async def push(self, status) -> None:
        """aiosmtpd answers a too-big message itself (at MAIL SIZE= or in DATA): trace it, and say it plainly."""
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if text.startswith("552 Error"):
            answer = Answer("refused", "too-big", "552 5.3.4")
            limit = self.data_size_limit
            status = f"552 5.3.4 refused (too-big): this gateway takes messages up to {limit} bytes"
            if not await self.event_handler.decide(answer, _claims(self.session, self.envelope)):
                status = TEMPORARY
        await super().push(status)


class GatewayHandler:
    """The aiosmtpd handler: the checks of RCPT and DATA, durable delivery, the trace, then the answer.

    Every answer about a message is in the trace before the client reads it:
    accepted and delivered, refused (5xx) or deferred (4xx), with the reason
    (pli.core.transport.decisions).  When the trace cannot be written, a
    refusal becomes a temporary failure: the client asks again later.
    """

    def __init__(self, config: GatewayConfig, trust: TrustSource, limiter: ClientLimiter, trace=None,
                 executor: ThreadPoolExecutor | None = None) -> None:
        self.config = config
        self.trust = trust
        self.limiter = limiter
        self.delivery = delivery_for(config.delivery)
        self.trace = trace
        self.executor = executor

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not self.limiter.allow_message(_client(session)):
            answer = Answer("deferred", "rate-limited", "450 4.7.1")
            await self.decide(answer, Claims(_client(session), address))
            return "450 4.7.1 too many messages from your address; try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        claims = Claims(_client(session), envelope.mail_from, (address,))
        if self.config.aliases.get(address.strip().lower()) is None:
            return await self._answer(Answer("refused", "unknown-recipient", "550 5.1.1"), claims,
                                      f"550 5.1.1 <{printable(address)}>: no such recipient here")
        if len(envelope.rcpt_tos) >= self.config.limits.max_recipients:
            await self.decide(Answer("deferred", "too-many-recipients", "452 4.5.3"), claims)
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        try:
            checked = verify_mail(raw, self.trust.current())
        except OpenError as error:      # NotSealed included: reason "unsealed"
            return await self._refuse(session, envelope, error.reason, raw)
        addresses = [a.strip().lower() for a in envelope.rcpt_tos]
        if any(a not in checked.recipients for a in addresses):
            return await self._refuse(session, envelope, "not-for-recipient", raw, checked)
        mailboxes = list(dict.fromkeys(self.config.aliases[a] for a in addresses))
        data = self._received(session, checked) + raw
        loop = asyncio.get_running_loop()
        try:
            via = await loop.run_in_executor(self.executor, self._deliver, mailboxes, checked, data)
        except DeliveryFailed as error:
            answer = Answer("deferred", "no-space" if error.no_space else "delivery-failed",
                            "452 4.3.1" if error.no_space else "451 4.3.0")
            await self.decide(answer, _claims(session, envelope), raw, checked, detail=str(error))
            return NO_SPACE if error.no_space else TEMPORARY
        steps = decisions.accepted(checked, addresses, self.config.hostname, via)
        if self.trace is not None:
            try:
                await self.trace.record_steps(steps)
            except Exception as error:  # noqa: BLE001 - not acknowledged: the client sends it again
                log.error("cannot write the trace (%s): answered 451", type(error).__name__)
                return TEMPORARY
        log.info("%s", decisions.log_line(steps[0], _client(session)))
        return f"250 2.0.0 Ok: queued as {checked.envelope_id}"

    async def handle_exception(self, error: Exception, claims: Claims | None = None) -> str:
        log.error("internal fault (%s): answered 451", type(error).__name__, exc_info=error)
        no_space = isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS
        answer = Answer("deferred", "no-space" if no_space else "internal", "452 4.3.1" if no_space else "451 4.3.0")
        await self.decide(answer, claims or Claims("unknown"))
        return NO_SPACE if no_space else TEMPORARY

    async def decide(self, answer: Answer, claims: Claims, raw: bytes | None = None,
                     checked: Checked | None = None, detail: str = "") -> bool:
        """Log a refusal or deferral (one line) and write it to the trace; False if the trace could not be written.

        `detail` (why a delivery failed) goes to the log only: the trace holds identifiers.
        """
        step = decisions.refusal(answer, claims, self.config.hostname, raw, checked)
        log.info("%s%s", decisions.log_line(step), f": {detail}" if detail else "")
        if self.trace is None:
            return True
        try:
            await self.trace.record_steps([step])
        except Exception as error:  # noqa: BLE001 - the caller answers 451 instead
            log.error("cannot write the trace (%s)", type(error).__name__)
            return False
        return True

    async def _answer(self, answer: Answer, claims: Claims, reply: str, raw: bytes | None = None,
                      checked: Checked | None = None) -> str:
        """`reply` once the decision is in the trace; a temporary failure if it cannot be."""
        return reply if await self.decide(answer, claims, raw, checked) else TEMPORARY

    async def _refuse(self, session, envelope, reason: str, raw: bytes, checked: Checked | None = None) -> str:
        reply = REFUSALS.get(reason, f"550 5.7.1 refused ({reason})")
        return await self._answer(Answer("refused", reason, reply[:9]), _claims(session, envelope), reply,
                                  raw, checked)

    def _deliver(self, mailboxes: list[str], checked: Checked, data: bytes) -> str:
        name = maildir_name(checked.envelope_id, checked.digest)
        via = "maildir"
        for mailbox in mailboxes:
            via = self.delivery.deliver(mailbox, name, data)
        return via

    def _received(self, session, checked: Checked) -> bytes:
        helo = printable(session.host_name or "unknown")
        tls = "S" if session.ssl else ""
        line = (f"Received: from {helo} ([{_client(session)}]) by {self.config.hostname} (pli gateway) "
                f"with ESMTP{tls} id {checked.envelope_id}; {formatdate(usegmt=True)}\r\n")
        return line.encode("ascii", "replace")


def _claims(session, envelope) -> Claims:
    if session is None:
        return Claims("unknown")
    return Claims(_client(session), envelope.mail_from if envelope is not None else None,
                  tuple(envelope.rcpt_tos) if envelope is not None else ())


def _client(session) -> str:
    return _peer_address(session.peer)


def _peer_address(peer) -> str:
    return peer[0] if isinstance(peer, tuple) else "local"


# -- running it -----------------------------------------------------------------------------------


def make_factory(config: GatewayConfig, trace=None):
    """The protocol factory for loop.create_server (tests and the benchmark use it in-process)."""
    limiter = ClientLimiter(config.limits)
    trust = TrustSource(Home(config.trust_home))
    # Deliveries mostly wait on fsync: many in flight let the file system commit them together.
    executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="pli-deliver")
    handler = GatewayHandler(config, trust, limiter, trace, executor)
    tls = config.tls_context()

    def factory():
        return GatewaySMTP(handler, limiter, data_size_limit=config.limits.max_message_bytes,
                           hostname=config.hostname, ident="pli gateway", tls_context=tls,
                           require_starttls=config.tls_required and tls is not None,
                           timeout=config.limits.timeout_seconds, decode_data=False,
                           auth_require_tls=True)
    return factory


def run_gateway(config: GatewayConfig, listen: tuple[str, int], workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT; `workers` > 1 runs that many processes on the port (one per core)."""
    configure_logging(os.environ.get("PLI_GATEWAY_LOG", "INFO"))
    run_workers(listen, workers, functools.partial(_serve, config))


def configure_logging(level: str) -> None:
    """One line per decision at INFO: aiosmtpd's own logger (every command, the AUTH mechanisms of each
    connection, "Connection lost" after a QUIT) speaks only of its errors, or of everything at DEBUG."""
    level = level.strip().upper()
    if level not in LOG_LEVELS:
        raise UsageError(f"PLI_GATEWAY_LOG={level}: use one of {', '.join(LOG_LEVELS)}")
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s pli-gateway[%(process)d] %(message)s")
    logging.getLogger("mail.log").setLevel(logging.DEBUG if level == "DEBUG" else logging.ERROR)


async def _serve(config: GatewayConfig, sock: socket.socket) -> None:
    trace = None
    if config.trace_key is not None:
        trace = TraceBatcher(gateway_journal(config.trace_home, config.trace_key, f"gateway@{config.domain}"))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(make_factory(config, trace), sock=sock)
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    host, port = sock.getsockname()[:2]
    log.info("listening on %s:%d for %s", host, port, config.domain)
    print(f"pli gateway: listening on {host}:{port}", file=sys.stderr, flush=True)
    async with server:
        await stop
