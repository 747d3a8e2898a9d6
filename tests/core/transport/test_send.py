"""`pli send` and the outbox against real SMTP servers on loopback: the gateway, and a TLS + AUTH submission server."""
from __future__ import annotations

import os
import ssl
import subprocess

import pytest

from pli.core.audit import steps_of
from pli.core.crypto.envelope import open_mail
from pli.core.crypto.keyring import Keyring
from pli.core.store import Store, create_store
from pli.core.transport import outbox
from pli.core.transport.accounts import AccountError, choose_account, load_accounts
from pli.core.transport.secrets import read_account_password, store_account_password
from pli.core.transport.submission import SubmissionFailed, crlf, submit
from transport_fixtures import (PASSPHRASE, PLI, Peers, free_port, gateway_config, in_process_gateway, inner_message,
                                self_signed, submission_server, write_account)

BOB_NEW = ("mailboxes", "mbox-7f3a91", "new")


@pytest.fixture
def peers(tmp_path):
    return Peers(tmp_path / "peers")


def pli(tmp_path, keyring: Keyring, *args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    env = dict(os.environ, PLI_PASSPHRASE_FILE=str(secret))
    return subprocess.run([*PLI, "--home", str(keyring.home.root), *args], input=stdin, capture_output=True,
                          env=env, timeout=60)


def delivered(folder):
    new = folder.joinpath(*BOB_NEW)
    return sorted(new.iterdir()) if new.exists() else []


def test_pli_send_seals_submits_and_traces_and_the_sent_copy_leaves_the_outbox(peers, tmp_path):
    alice = peers.alice
    create_store(alice.home, name="Dr Alice", address="alice@pli.test")
    with in_process_gateway(gateway_config(tmp_path / "gw", peers)) as port:
        write_account(alice.home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none")
        done = pli(tmp_path, alice, "send", "--to", "bob@pli.test", stdin=inner_message(subject="Créat 180"))
        assert done.returncode == 0, done.stderr
    [mail] = delivered(tmp_path / "gw")
    opened = open_mail(mail.read_bytes(), peers.bob)
    assert b"Cr\xc3\xa9at 180" in opened.inner or b"Cr=C3=A9at" in opened.inner or b"=?utf-8?" in opened.inner
    assert outbox.pending(alice.home) == []
    assert len(list((outbox.outbox_dir(alice.home) / "cur").iterdir())) == 1
    steps = steps_of(alice.home, opened.envelope_id)
    assert [e.step for e in steps] == ["sealed", "sent"]
    assert steps[1].details["queue_id"] == opened.envelope_id
    with Store.open(alice.home) as store:
        assert store.count("tag:sent") == 1 and store.count("tag:outbox") == 0


def test_network_down_keeps_the_mail_and_flush_resends_the_same_bytes_without_new_pad_bytes(peers, tmp_path):
    alice, bob = peers.alice, peers.bob
    pad = alice.new_pad(["bob@pli.test"], 64 * 1024)
    bob.import_pad(alice.export_pad(pad.id, "bob@pli.test"))
    port = free_port()                                   # nothing listens there yet
    write_account(alice.home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                  smtp_security="none")
    failed = pli(tmp_path, alice, "send", "--to", "bob@pli.test", "--mode", "otp", stdin=inner_message())
    assert failed.returncode == 75
    assert b"connection refused" in failed.stderr
    [waiting] = outbox.pending(alice.home)
    assert waiting.attempts == 1 and "connection refused" in waiting.last_error
    queued_bytes = waiting.read()
    left = alice.ledger.left(pad, pad.lane_of("alice@pli.test"))

    with in_process_gateway(gateway_config(tmp_path / "gw", peers), port=port):
        flushed = pli(tmp_path, alice, "send", "--flush")
        assert flushed.returncode == 0, flushed.stderr
    [mail] = delivered(tmp_path / "gw")
    assert mail.read_bytes().endswith(crlf(queued_bytes))          # the very bytes sealed the first time
    assert Keyring.unlock(alice.home, PASSPHRASE).ledger.left(pad, pad.lane_of("alice@pli.test")) == left
    assert open_mail(mail.read_bytes(), bob).mode == "otp"
    assert outbox.pending(alice.home) == []


def test_a_refusal_is_kept_with_its_reason_and_not_retried_unless_asked(peers, tmp_path):
    carol = peers.carol                                   # the gateway does not know her key
    with in_process_gateway(gateway_config(tmp_path / "gw", peers)) as port:
        write_account(carol.home, address="carol@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none")
        done = pli(tmp_path, carol, "send", "--to", "bob@pli.test", stdin=inner_message())
        assert done.returncode == 75
        [kept] = outbox.pending(carol.home)
        assert kept.permanent and "unknown-sender" in kept.last_error
        listed = pli(tmp_path, carol, "send", "--list")
        assert b"refused: " in listed.stdout and b"unknown-sender" in listed.stdout
        skipped = pli(tmp_path, carol, "send", "--flush")
        assert skipped.returncode == 0 and outbox.pending(carol.home)[0].attempts == 1
        retried = pli(tmp_path, carol, "send", "--flush", "--retry-refused")
        assert retried.returncode == 75 and outbox.pending(carol.home)[0].attempts == 2
    assert delivered(tmp_path / "gw") == []


def test_implicit_tls_and_auth_with_a_password_file(peers, tmp_path):
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    secret = tmp_path / "cabinet.pass"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    home = peers.alice.home
    queued = outbox.queue(home, peers.sealed())
    sealed = queued.read()
    with submission_server(implicit_tls=server_tls, login=("alice", "s3cret")) as (port, recorder):
        write_account(home, address="alice@pli.test", smtp_host="localhost", smtp_port=port, smtp_security="tls",
                      username="alice", password_file=str(secret), ca_file=str(cert))
        account = choose_account(home, None)
        login = account.login("smtp", home)
        report = outbox.flush(home, lambda raw, _s, rcpts: submit(account.smtp, raw, account.address, rcpts, login))
        assert [r.queue_id for _, r in report.sent] == ["SUB0001"]
        with pytest.raises(SubmissionFailed) as refused:
            submit(account.smtp, sealed, account.address, ["bob@pli.test"], ("alice", "wrong"))
        # our own settings are wrong, not the mail: it is not refused for good
        assert not refused.value.permanent and refused.value.configuration == "login"
        assert "refused the login" in refused.value.message
    [(sender, rcpts, data)] = recorder.messages
    assert sender == "alice@pli.test" and rcpts == ["bob@pli.test"] and data == crlf(sealed)


def test_starttls_to_the_gateway_checks_its_certificate(peers, tmp_path):
    cert, key = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other_cert, _ = self_signed(tmp_path / "other")
    config = gateway_config(tmp_path / "gw", peers, tls=(cert, key), tls_required=True)
    home = peers.alice.home
    with in_process_gateway(config) as port:
        write_account(home, "good", address="alice@pli.test", smtp_host="localhost", smtp_port=port,
                      smtp_security="starttls", ca_file=str(cert))
        write_account(home, "untrusted", address="alice@pli.test", smtp_host="localhost", smtp_port=port,
                      smtp_security="starttls", ca_file=str(other_cert))
        accounts = load_accounts(home)
        raw = peers.sealed()
        with pytest.raises(SubmissionFailed) as bad:
            submit(accounts["untrusted"].smtp, raw, "alice@pli.test", ["bob@pli.test"])
        assert "TLS" in bad.value.message and not bad.value.permanent
        receipt = submit(accounts["good"].smtp, raw, "alice@pli.test", ["bob@pli.test"])
    assert len(delivered(tmp_path / "gw")) == 1
    assert b"ESMTPS" in delivered(tmp_path / "gw")[0].read_bytes()
    assert len(receipt.queue_id) == 32


def test_account_passwords_in_the_keyring_round_trip(peers):
    home = peers.alice.home
    store_account_password(home, "cabinet", "hunter2")
    assert read_account_password(home, "cabinet", peers.alice) == "hunter2"
    assert b"hunter2" not in (home.keyring / "accounts" / "cabinet").read_bytes()


def test_config_refuses_clear_passwords_and_unencrypted_remote_servers(peers):
    home = peers.alice.home
    write_account(home, "clear", address="alice@pli.test", smtp_host="smtp.pli.test", password="hunter2")
    with pytest.raises(AccountError, match="in clear"):
        load_accounts(home)
    home.config.write_text("")
    write_account(home, "remote", address="alice@pli.test", smtp_host="smtp.pli.test", smtp_security="none")
    with pytest.raises(AccountError, match="loopback"):
        load_accounts(home)


def test_flush_account_sends_one_chosen_mail_or_all_and_reports_each_with_its_reason(peers, tmp_path):
    """What the TUI calls: per-item results, refusals as values (no exception), the rest left waiting."""
    alice = peers.alice
    first = outbox.queue(alice.home, seal(alice, "bob@pli.test"))
    second = outbox.queue(alice.home, seal(alice, "bob@pli.test"))
    stray = outbox.queue(alice.home, inner_message())   # not sealed: the gateway refuses it for good
    with in_process_gateway(gateway_config(tmp_path / "gw", peers)) as port:
        write_account(alice.home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none")
        one = outbox.flush_account(alice.home, alice, only_keys={second.key})
        assert [q.key for q, _ in one.sent] == [second.key] and not one.failed
        rest = outbox.flush_account(alice.home, alice)
    assert [q.key for q, _ in rest.sent] == [first.key]
    [(item, error)] = rest.failed
    assert item.key == stray.key and error.permanent and "unsealed" in str(error)
    [(left)] = outbox.pending(alice.home)
    assert left.key == stray.key and left.permanent and left.last_error == str(error)
    assert len(delivered(tmp_path / "gw")) == 2


def test_flush_account_without_a_usable_account_raises_a_plain_error(peers):
    outbox.queue(peers.alice.home, seal(peers.alice, "bob@pli.test"))
    with pytest.raises(AccountError):
        outbox.flush_account(peers.alice.home, peers.alice)
    assert len(outbox.pending(peers.alice.home)) == 1


def seal(keyring, to: str) -> bytes:
    from pli.core.crypto.envelope import seal_mail

    unique = f"<{os.urandom(6).hex()}@pli.test>".encode()
    return seal_mail(inner_message().replace(b"<inner-1@pli.test>", unique), keyring, [to])
