"""The gateway as a real process SIGKILLed in the middle of transfers: every acknowledged mail is delivered once."""
from __future__ import annotations

import random
import signal
import smtplib
import threading
import time

import pytest

from pli.core.crypto.verify import verify_mail
from pli.core.directory.resolve import Trust
from pli.core.transport.delivery import maildir_name
from pli.core.transport.submission import crlf
from transport_fixtures import Peers, free_port, gateway_config, start_gateway

CLIENTS = 4
PER_CLIENT = 15
KILL_AFTER = (8, 24, 40)   # acknowledged mails before each SIGKILL: the kills land mid-stream


def _send_until_acknowledged(port: int, raw: bytes, deadline: float, retries: list) -> bytes | None:
    """The 250 reply, retrying through refused connections, resets and 4xx as a real MTA would."""
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.ehlo("crash-client")
                smtp.mail("alice@pli.test")
                smtp.rcpt("bob@pli.test")
                code, reply = smtp.data(raw)
                if code == 250:
                    return reply
        except (smtplib.SMTPException, OSError):
            pass
        retries.append(1)
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("workers", [1, 2])
def test_every_acknowledged_mail_survives_sigkill_exactly_once(tmp_path, workers):
    peers = Peers(tmp_path / "peers")
    config = gateway_config(tmp_path / "gw", peers)
    mails = [[crlf(peers.sealed(subject=f"result {c}-{i}")) for i in range(PER_CLIENT)] for c in range(CLIENTS)]
    port = free_port()
    acked: dict[str, bytes] = {}
    retries: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + 40

    def client(batch):
        for raw in batch:
            reply = _send_until_acknowledged(port, raw, deadline, retries)
            if reply is not None:
                with lock:
                    acked[reply.split()[-1].decode()] = raw

    proc = start_gateway(config, port, workers)
    try:
        threads = [threading.Thread(target=client, args=(batch,)) for batch in mails]
        for thread in threads:
            thread.start()
        rng = random.Random(7)
        for threshold in KILL_AFTER:
            while len(acked) < threshold and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.01))
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
            time.sleep(0.1)                      # clients meet a closed port meanwhile
            proc = start_gateway(config, port, workers)   # its workers died with it (PR_SET_PDEATHSIG)
        for thread in threads:
            thread.join(60)
    finally:
        proc.kill()
        proc.wait(5)

    assert len(acked) == CLIENTS * PER_CLIENT, "a client gave up: the gateway did not come back"
    assert retries, "no transfer was interrupted: the kills missed"
    new = tmp_path / "gw" / "mailboxes" / "mbox-7f3a91" / "new"
    files = {p.name: p.read_bytes() for p in new.iterdir()}
    trust = Trust.of_home(peers.gateway_home)
    names = {}
    for envelope_id, raw in acked.items():
        checked = verify_mail(raw, trust)
        name = maildir_name(envelope_id, checked.digest)
        assert name in files, f"acknowledged mail {envelope_id} is missing"
        assert files[name].endswith(raw), "a delivered file is incomplete"
        names[name] = envelope_id
    # Exactly once: one file per acknowledged mail, nothing else (no partial file, no duplicate).
    assert set(files) == set(names)
