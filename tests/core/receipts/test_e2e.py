"""Receipts end to end: two homes, a real gateway on 127.0.0.1, the real `pli send` / `pli new` processes.

alice sends bob a result asking for receipts -> the gateway delivers into bob's
incoming Maildir -> bob's `pli new` stores it and answers with a sealed
delivery receipt, submitted through the same gateway -> alice's `pli new`
checks the receipt and marks her sent copy delivered.  Both traces hold the
steps and verify.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from pli.core.audit import steps_of, verify
from pli.core.crypto.keyring import trust_public
from pli.core.home import Home
from pli.core.receipts import acknowledgements, after_read
from pli.core.store import Store, create_store
from pli.core.store.layout import Layout
from pli.core.transport import outbox
from store_fixtures import held
from transport_fixtures import (PASSPHRASE, PLI, Peers, gateway_config, in_process_gateway, inner_message,
                                write_account)


@pytest.fixture
def peers(tmp_path):
    peers = Peers(tmp_path / "peers")
    for keyring, name in ((peers.alice, "alice"), (peers.bob, "bob"), (peers.carol, "carol")):
        create_store(keyring.home, name=f"Dr {name.title()}", address=f"{name}@pli.test")
    return peers


@pytest.fixture
def gateway(tmp_path, peers):
    """A gateway delivering straight into each home's incoming Maildir; every home submits through it."""
    trust_public(peers.gateway_home, peers.carol.identity.public)
    aliases = {f"{k.identity.public.address}": str(k.home.root / "incoming")
               for k in (peers.alice, peers.bob, peers.carol)}
    with in_process_gateway(gateway_config(tmp_path / "gw", peers, aliases=aliases)) as port:
        for keyring in (peers.alice, peers.bob, peers.carol):
            write_account(keyring.home, address=keyring.identity.public.address, smtp_host="127.0.0.1",
                          smtp_port=port, smtp_security="none")
        yield port


def pli(tmp_path, keyring, *args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    env = dict(os.environ, PLI_PASSPHRASE_FILE=str(secret))
    done = subprocess.run([*PLI, "--home", str(keyring.home.root), *args], input=stdin, capture_output=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done


def message(mid: str, subject: str = "K+ 6.8 mmol/L") -> bytes:
    return inner_message(subject=subject).replace(b"<inner-1@pli.test>", f"<{mid}@pli.test>".encode())


def sent_copy(keyring, mid: str):
    with Store.open(keyring.home) as store:
        return store.summary(f"{mid}@pli.test")


def envelope_of(keyring, mid: str) -> str:
    from pli.core.store import headers

    with Store.open(keyring.home) as store:
        return headers.value_of(store.read_clear(f"{mid}@pli.test"), "X-Pli-Envelope-Id")


def set_receipts(keyring, **values) -> None:
    text = keyring.home.config.read_text() if keyring.home.config.exists() else ""
    lines = "".join(f"{k} = {'true' if v else 'false'}\n" for k, v in values.items())
    keyring.home.config.write_text(text + "\n[receipts]\n" + lines)


def test_a_delivery_receipt_goes_back_through_the_gateway_and_marks_the_sent_message(peers, gateway, tmp_path):
    alice, bob = peers.alice, peers.bob
    pli(tmp_path, alice, "send", "--to", "bob@pli.test", "--receipt", "delivery", stdin=message("r1"))
    envelope = envelope_of(alice, "r1")

    stored = pli(tmp_path, bob, "new")
    assert b"receipts: 1 queued, 1 sent" in stored.stdout
    with Store.open(bob.home) as store:
        original = store.summary(held(bob.home, "r1@pli.test"))
        assert {"inbox", "verified", "receipt-request", "receipt-sent:delivery"} <= original.tags
        assert "receipt-due" not in original.tags
    assert outbox.pending(bob.home) == []

    pli(tmp_path, alice, "new")
    sent = sent_copy(alice, "r1")
    assert "delivered" in sent.tags and "read" not in sent.tags
    [ack] = acknowledgements(Layout(alice.home), "r1@pli.test")
    assert (ack.kind, ack.address) == ("delivery", "bob@pli.test")
    with Store.open(alice.home) as store:
        assert store.count("tag:inbox") == 0            # the receipt stays out of the inbox
        assert store.count("tag:receipt and not tag:receipt-due") == 1

    alice_steps = [e.step for e in steps_of(alice.home, envelope)]
    assert alice_steps[:3] == ["sealed", "receipt-requested", "sent"]
    assert alice_steps[-1] == "receipt-received"
    bob_steps = [e.step for e in steps_of(bob.home, envelope)]
    assert bob_steps == ["opened-verified", "receipt-sent"]
    receipt_envelope = steps_of(bob.home, envelope)[-1].details["envelope_id"]
    assert steps_of(alice.home, envelope)[-1].details["envelope_id"] == receipt_envelope
    assert [e.step for e in steps_of(bob.home, receipt_envelope)] == ["sent"]
    gateway_trace = Home(tmp_path / "gw" / "trace-home")
    for crossing in (envelope, receipt_envelope):           # both went through the gateway, traced there
        assert [e.step for e in steps_of(gateway_trace, crossing)] == ["accepted-by-gateway", "delivered"]
    assert verify(alice.home).entries > 0 and verify(bob.home).entries > 0 and verify(gateway_trace).entries
    assert b"trace ok" in pli(tmp_path, bob, "audit", "verify").stdout
    shown = pli(tmp_path, alice, "receipts", "show", "r1@pli.test").stdout.decode()
    assert "delivery  bob@pli.test" in shown

    # Rerunning both sides changes nothing: no second receipt, no second step.
    pli(tmp_path, bob, "new")
    pli(tmp_path, alice, "new")
    assert [e.step for e in steps_of(bob.home, envelope)] == bob_steps
    assert [e.step for e in steps_of(alice.home, envelope)] == alice_steps
    assert b"nothing due" in pli(tmp_path, bob, "receipts", "answer").stderr


def test_pli_seal_asks_inside_the_envelope(peers, tmp_path):
    from pli.core.crypto.envelope import open_mail

    sealed = pli(tmp_path, peers.alice, "seal", "--to", "bob@pli.test", "--receipt", "read",
                 stdin=message("s1")).stdout
    assert b"Pli-Receipt-Request" not in sealed
    assert b"Pli-Receipt-Request: read\n" in open_mail(sealed, peers.bob).inner
    refused = subprocess.run([*PLI, "--home", str(peers.alice.home.root), "seal", "--to", "bob@pli.test",
                              "--receipt", "seen"], input=message("s2"), capture_output=True, timeout=60)
    assert refused.returncode == 2 and b"unknown receipt kind seen" in refused.stderr


def test_read_receipts_follow_the_setting(peers, gateway, tmp_path):
    alice, bob = peers.alice, peers.bob
    pli(tmp_path, alice, "send", "--to", "bob@pli.test", "--receipt", "read", stdin=message("off"))
    pli(tmp_path, bob, "new")
    assert after_read(bob.home, bob, held(bob.home, "off@pli.test")).queued == []   # send_read: false
    assert outbox.pending(bob.home) == [] and list((outbox.outbox_dir(bob.home) / "cur").glob("*")) == []

    set_receipts(bob, send_read=True)
    pli(tmp_path, alice, "send", "--to", "bob@pli.test", "--receipt", "delivery,read", stdin=message("on"))
    pli(tmp_path, bob, "new")
    report = after_read(bob.home, bob, held(bob.home, "on@pli.test"))
    assert len(report.queued) == 1 and report.sent == 1
    assert after_read(bob.home, bob, held(bob.home, "on@pli.test")).queued == []   # opened again: not twice
    pli(tmp_path, alice, "new")
    assert {"delivered", "read"} <= sent_copy(alice, "on").tags
    assert not {"delivered", "read"} & sent_copy(alice, "off").tags
    kinds = sorted(a.kind for a in acknowledgements(Layout(alice.home), "on@pli.test"))
    assert kinds == ["delivery", "read"]
    assert verify(alice.home).entries > 0 and verify(bob.home).entries > 0
