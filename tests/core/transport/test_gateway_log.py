"""The gateway's log, as an operator reads it under systemd: one line per decision at INFO, nothing for each
SMTP command, nothing after a normal QUIT (a real `pli gateway serve` process, its stderr read whole)."""
from __future__ import annotations

import os
import signal
import smtplib
import subprocess

from pli.core.transport.submission import crlf
from store_fixtures import plain_mail
from transport_fixtures import PLI, Peers, free_port, gateway_config, wait_for_port


def send(port: int, raw: bytes, to: str = "bob@pli.test") -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:      # the with block ends with a normal QUIT
        smtp.ehlo("client.pli.test")
        smtp.mail("alice@pli.test")
        code, _ = smtp.rcpt(to)
        if code != 250:
            return code
        return smtp.data(crlf(raw))[0]


def test_one_line_per_decision_and_no_smtp_chatter(tmp_path):
    peers = Peers(tmp_path / "peers")
    config = gateway_config(tmp_path / "gw", peers)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PLI_GATEWAY_LOG"}      # the default level: INFO
    proc = subprocess.Popen([*PLI, "gateway", "serve", "--listen", f"127.0.0.1:{port}", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_for_port(port, proc=proc)
        sealed = peers.sealed()
        assert send(port, sealed) == 250
        assert send(port, plain_mail(3)) == 550
        assert send(port, sealed, to="nobody@pli.test") == 550
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:             # connect, NOOP, QUIT: no decision
            smtp.noop()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    lines = [line.split("] ", 1)[-1] for line in err.decode().splitlines()]
    decisions = [line for line in lines if not line.startswith(("listening on", "pli gateway: listening",
                                                                  "trust loaded from"))]
    envelope_id = sealed.split(b"Message-ID: <")[1].split(b".sealed")[0].decode()
    assert decisions[0] == f"accepted {envelope_id} from alice@pli.test for bob@pli.test (client 127.0.0.1)"
    assert decisions[1].startswith("refused ") and ": 550 5.7.1 unsealed (client 127.0.0.1, from alice@pli.test, " \
                                                    "to bob@pli.test)" in decisions[1]
    assert decisions[2].startswith("refused smtp-") and decisions[2].endswith(
        ": 550 5.1.1 unknown-recipient (client 127.0.0.1, from alice@pli.test, to nobody@pli.test)")
    assert len(decisions) == 3, lines
    assert not any("Connection lost" in line or "EHLO" in line or "Peer" in line for line in lines)
