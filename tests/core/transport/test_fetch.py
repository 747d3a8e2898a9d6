"""`pli fetch` against a real Dovecot (IMAP) on loopback, and the gateway delivering into it over LMTP."""
from __future__ import annotations

import imaplib
import json
import os
import shutil
import smtplib
import subprocess

import pytest

from pli.core.audit import steps_of
from pli.core.store import Store, create_store
from pli.core.store.layout import Layout
from pli.core.transport.accounts import choose_account
from pli.core.transport.fetch import FetchFailed, fetch, load_state, state_path
from pli.core.transport.submission import crlf
from store_fixtures import plain_mail
from transport_fixtures import (PASSPHRASE, PLI, Dovecot, Peers, free_port, gateway_config, in_process_gateway,
                                write_account)

pytestmark = pytest.mark.skipif(shutil.which("dovecot") is None and not os.path.exists("/usr/sbin/dovecot"),
                                reason="dovecot is not installed (.ci/system-packages installs it)")
USER, SECRET = "bob", Dovecot.USERS["bob"]


@pytest.fixture(scope="module")
def dovecot():
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot):
    """bob's IMAP INBOX, emptied for each test (UIDs keep growing: UIDVALIDITY stays)."""
    imap = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    imap.login(USER, SECRET)
    imap.select("INBOX")
    imap.store("1:*", "+FLAGS", "\\Deleted") if imap.search(None, "ALL")[1][0] else None
    imap.expunge()
    yield imap
    imap.logout()


@pytest.fixture
def peers(tmp_path):
    peers = Peers(tmp_path / "peers")
    create_store(peers.bob.home, name="Dr Bob", address="bob@pli.test")
    return peers


def account(peers, dovecot):
    secret = peers.bob.home.root / "imap.pass"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    write_account(peers.bob.home, address="bob@pli.test", imap_host="127.0.0.1", imap_port=dovecot.imap_port,
                  imap_security="none", username=USER, password_file=str(secret))
    return choose_account(peers.bob.home, None)


def append(imap, raw: bytes) -> None:
    assert imap.append("INBOX", None, None, crlf(raw))[0] == "OK"


def pli(tmp_path, home, *args):
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    return subprocess.run([*PLI, "--home", str(home.root), *args], capture_output=True, timeout=60,
                          env=dict(os.environ, PLI_PASSPHRASE_FILE=str(secret)))


def incoming(home) -> list[str]:
    return sorted(p.name for p in (Layout(home).incoming / "new").iterdir())


def test_pli_fetch_stores_new_mail_once_and_traces_it(peers, dovecot, mailbox, tmp_path):
    account(peers, dovecot)
    sealed = [peers.sealed(subject=f"result {i}") for i in range(3)]
    for raw in sealed + [plain_mail(1)]:
        append(mailbox, raw)
    first = pli(tmp_path, peers.bob.home, "fetch")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(b"fetched 4 new messages") and b"fetched" not in first.stderr
    with Store.open(peers.bob.home) as store:
        assert store.count("tag:verified") == 3 and store.count("*") == 4
    again = pli(tmp_path, peers.bob.home, "fetch")
    assert again.returncode == 0 and b"fetched 0 new" in again.stdout
    append(mailbox, peers.sealed(subject="one more"))
    assert b"fetched 1 new message from" in pli(tmp_path, peers.bob.home, "fetch").stdout
    with Store.open(peers.bob.home) as store:
        assert store.count("*") == 5
    envelope_id = sealed[0].split(b"Message-ID: <")[1].split(b".sealed")[0].decode()
    assert "fetched" in [e.step for e in steps_of(peers.bob.home, envelope_id)]


def test_an_interrupted_fetch_resumes_without_losing_or_doubling(peers, dovecot, mailbox):
    acct = account(peers, dovecot)
    for i in range(5):
        append(mailbox, peers.sealed(subject=f"r{i}"))
    target = Layout(peers.bob.home).incoming

    def crash_after_first_batch(names):
        raise KeyboardInterrupt  # the process dies between two batches

    with pytest.raises(KeyboardInterrupt):
        fetch(peers.bob.home, acct, SECRET, target, batch=2, on_batch=crash_after_first_batch)
    assert len(incoming(peers.bob.home)) == 2 and load_state(peers.bob.home, "cabinet").last_uid > 0
    state_before = state_path(peers.bob.home, "cabinet").read_bytes()
    report = fetch(peers.bob.home, acct, SECRET, target, batch=2)
    assert len(report.fetched) == 3 and len(incoming(peers.bob.home)) == 5
    # A crash after writing files but before saving the state: the rerun writes the same names again.
    state_path(peers.bob.home, "cabinet").write_bytes(state_before)
    fetch(peers.bob.home, acct, SECRET, target)
    assert len(incoming(peers.bob.home)) == 5


def test_a_rebuilt_folder_is_fetched_from_the_start_and_a_wrong_password_is_reported(peers, dovecot, mailbox):
    acct = account(peers, dovecot)
    append(mailbox, peers.sealed())
    target = Layout(peers.bob.home).incoming
    fetch(peers.bob.home, acct, SECRET, target)
    state = json.loads(state_path(peers.bob.home, "cabinet").read_bytes())
    state_path(peers.bob.home, "cabinet").write_text(json.dumps({"uidvalidity": 1, "last_uid": 10 ** 6}))
    report = fetch(peers.bob.home, acct, SECRET, target)
    assert report.restarted and len(report.fetched) == 1
    assert load_state(peers.bob.home, "cabinet").uidvalidity == state["uidvalidity"]
    with pytest.raises(FetchFailed, match="IMAP server"):
        fetch(peers.bob.home, acct, "wrong", target)


def test_gateway_delivers_over_lmtp_to_dovecot_and_pli_fetch_gets_it(peers, dovecot, mailbox, tmp_path):
    config = gateway_config(tmp_path / "gw", peers, aliases={"bob@pli.test": USER},
                            delivery={"kind": "lmtp", "host": "127.0.0.1", "port": dovecot.lmtp_port})
    raw = peers.sealed(subject="via lmtp")
    with in_process_gateway(config) as port:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("alice@pli.test")
            smtp.rcpt("bob@pli.test")
            code, reply = smtp.data(crlf(raw))
    assert code == 250, reply
    envelope_id = reply.split()[-1].decode()
    via = [e.details.get("via") for e in steps_of(peers.bob.home.__class__(tmp_path / "gw" / "trace-home"),
                                                   envelope_id) if e.step == "delivered"]
    assert via == ["lmtp"]
    account(peers, dovecot)
    done = pli(tmp_path, peers.bob.home, "fetch")
    assert done.returncode == 0, done.stderr
    with Store.open(peers.bob.home) as store:
        assert store.count("tag:verified") == 1


def test_the_gateway_answers_temporary_failure_when_lmtp_is_down(peers, tmp_path):
    config = gateway_config(tmp_path / "gw", peers, aliases={"bob@pli.test": USER},
                            delivery={"kind": "lmtp", "host": "127.0.0.1", "port": free_port()})
    with in_process_gateway(config) as port:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("alice@pli.test")
            smtp.rcpt("bob@pli.test")
            code, reply = smtp.data(crlf(peers.sealed()))
    assert code == 451 and b"4.3.0" in reply


def test_the_imap_login_is_its_own_and_a_refused_login_is_said_in_plain_words(peers, dovecot, mailbox, tmp_path):
    """imap_username/imap_password apart from the SMTP login; Dovecot's refusal shown as text, not b'...'."""
    home = peers.bob.home
    write_account(home, address="bob@pli.test", smtp_host="127.0.0.1", smtp_security="none",
                  smtp_username="bob.smtp@relay.example", smtp_password="keyring",
                  imap_host="127.0.0.1", imap_port=dovecot.imap_port, imap_security="none",
                  imap_username=USER, imap_password="keyring")
    append(mailbox, peers.sealed(subject="imap login"))
    stored = subprocess.run([*PLI, "--home", str(home.root), "send", "--set-password", "cabinet", "--server",
                             "imap"], input=b"not-the-secret\n", capture_output=True, timeout=60)
    assert stored.returncode == 0, stored.stderr
    refused = pli(tmp_path, home, "fetch")
    assert refused.returncode == 75
    said = refused.stderr.decode()
    assert said.startswith(f"pli: the IMAP server 127.0.0.1:{dovecot.imap_port} refused the login of bob "
                           "(account cabinet): [AUTHENTICATIONFAILED] Authentication failed.; check imap_username "
                           "and `pli send password cabinet --server imap`")
    assert "b'" not in said and len(said.splitlines()) == 1
    subprocess.run([*PLI, "--home", str(home.root), "send", "--set-password", "cabinet", "--server", "imap"],
                   input=f"{SECRET}\n".encode(), check=True, capture_output=True, timeout=60)
    fetched = pli(tmp_path, home, "fetch")
    assert fetched.returncode == 0, fetched.stderr
    assert b"fetched 1 new message from account cabinet" in fetched.stdout
    assert not (home.keyring / "accounts" / "cabinet").exists()      # only the IMAP slot was written


def test_pli_fetch_raises_the_security_alert_of_a_pad_reuse(peers, dovecot, mailbox, tmp_path):
    """The alarm is the same whichever command stored the mail (issue 14.8)."""
    from pli.core.crypto.pairing import share_pad
    from replay_fixtures import reused_pad

    account(peers, dovecot)
    share_pad(peers.alice, [peers.bob], 1 << 18)
    for raw in reused_pad(peers.alice):
        append(mailbox, raw)
    done = pli(tmp_path, peers.bob.home, "fetch")
    assert done.returncode == 6, done.stderr
    assert b"pli: SECURITY ALERT" in done.stderr and b"It is in quarantine: " in done.stderr
