"""Mail accounts in daily use, against real SMTP servers on loopback (aiosmtpd): separate SMTP and IMAP
logins, a relay without AUTH, our own configuration's faults kept in the outbox (not refused for good) and
sent once fixed, and the send_to rules choosing each recipient's account, shown in the seal plan."""
from __future__ import annotations

import pytest

from pli.core.audit import steps_of
from pli.core.crypto.envelope import open_mail
from pli.core.crypto.identity import Identity
from pli.core.transport import outbox
from pli.core.transport.accounts import AccountError, load_accounts
from pli.core.transport.submission import crlf
from test_send import pli
from transport_fixtures import Peers, free_port, inner_message, submission_server, write_account

HOSPITAL = "dr.h@cardio.hopital.example"


@pytest.fixture
def peers(tmp_path):
    return Peers(tmp_path / "peers")


@pytest.fixture
def hospital(peers):
    """A correspondent in another domain (a hospital): alice holds her public identity."""
    identity = Identity.generate("10000000099", HOSPITAL, "Dr Hélène Hôpital")
    peers.alice.import_public(identity.public)
    return identity


def secret_file(tmp_path, name: str, secret: str):
    path = tmp_path / name
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return str(path)


def test_smtp_and_imap_logins_are_separate_and_the_smtp_secret_is_sealed_in_the_keyring(peers, tmp_path):
    home = peers.alice.home
    with submission_server(login=("alice.smtp@relay.example", "smtp-secret")) as (port, recorder):
        write_account(home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                      smtp_username="alice.smtp@relay.example", smtp_password="keyring",
                      imap_host="127.0.0.1", imap_security="none", imap_username="alice",
                      imap_password_file=secret_file(tmp_path, "imap.pass", "imap-secret"))
        stored = pli(tmp_path, peers.alice, "send", "--set-password", "cabinet", "--server", "smtp",
                     stdin=b"smtp-secret\n")
        assert stored.returncode == 0, stored.stderr
        sent = pli(tmp_path, peers.alice, "send", "--to", "bob@pli.test", stdin=inner_message())
        assert sent.returncode == 0, sent.stderr
    [(sender, rcpts, _)] = recorder.messages
    assert sender == "alice@pli.test" and rcpts == ["bob@pli.test"]
    sealed = (home.keyring / "accounts" / "cabinet@smtp").read_bytes()
    assert b"smtp-secret" not in sealed
    account = load_accounts(home)["cabinet"]
    assert account.login("imap", home) == ("alice", "imap-secret")
    assert account.login("smtp", home, peers.alice) == ("alice.smtp@relay.example", "smtp-secret")
    # the slot is bound into the sealed blob: the SMTP secret copied over the shared slot does not open
    (home.keyring / "accounts" / "cabinet").write_bytes(sealed)
    with pytest.raises(Exception, match="does not open"):
        from pli.core.transport.secrets import read_account_password
        read_account_password(home, "cabinet", peers.alice)


def test_a_relay_without_auth_takes_mail_when_the_only_login_is_the_shared_one(peers, tmp_path):
    """`username` serves the IMAP side; the local relay offers no AUTH, so the mail goes without a login."""
    with submission_server() as (port, recorder):
        write_account(peers.alice.home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none", imap_host="127.0.0.1", imap_security="none", username="alice",
                      password_file=secret_file(tmp_path, "shared.pass", "imap-secret"))
        sent = pli(tmp_path, peers.alice, "send", "--to", "bob@pli.test", stdin=inner_message())
    assert sent.returncode == 0, sent.stderr
    assert len(recorder.messages) == 1 and outbox.pending(peers.alice.home) == []


def test_an_smtp_login_the_server_does_not_offer_keeps_the_mail_until_the_account_is_fixed(peers, tmp_path):
    home = peers.alice.home
    with submission_server() as (port, recorder):
        write_account(home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                      smtp_username="alice", smtp_password_file=secret_file(tmp_path, "smtp.pass", "s"))
        failed = pli(tmp_path, peers.alice, "send", "--to", "bob@pli.test", stdin=inner_message())
        assert failed.returncode == 75
        [kept] = outbox.pending(home)
        assert not kept.permanent
        assert "account cabinet" in kept.last_error and "offers no login" in kept.last_error
        assert "remove smtp_username from [accounts.cabinet]" in kept.last_error
        listed = pli(tmp_path, peers.alice, "send", "--list")
        assert b"waiting: account cabinet" in listed.stdout and b"1 try " in listed.stdout
        home.config.write_text("")        # the fix: this relay takes mail without a login
        write_account(home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none")
        flushed = pli(tmp_path, peers.alice, "send", "--flush")   # a plain flush: no --retry-refused
    assert flushed.returncode == 0, flushed.stderr
    assert len(recorder.messages) == 1 and outbox.pending(home) == []


def test_a_refused_login_is_not_a_refusal_of_the_mail_and_a_plain_flush_sends_it_once_fixed(peers, tmp_path):
    home = peers.alice.home
    with submission_server(login=("alice", "right")) as (port, recorder):
        write_account(home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                      username="alice", password="keyring")
        pli(tmp_path, peers.alice, "send", "--set-password", "cabinet", stdin=b"wrong\n")
        failed = pli(tmp_path, peers.alice, "send", "--to", "bob@pli.test", stdin=inner_message())
        assert failed.returncode == 75
        [kept] = outbox.pending(home)
        assert not kept.permanent and kept.attempts == 1
        assert "refused the login: 535" in kept.last_error
        assert "check smtp_username (alice) and `pli send password cabinet`" in kept.last_error
        assert b"b'" not in failed.stderr
        pli(tmp_path, peers.alice, "send", "--set-password", "cabinet", stdin=b"right\n")
        flushed = pli(tmp_path, peers.alice, "send", "--flush")
    assert flushed.returncode == 0, flushed.stderr
    assert len(recorder.messages) == 1 and outbox.pending(home) == []


def test_each_recipient_goes_through_the_account_its_domain_is_routed_to_and_the_plan_says_which(
        peers, hospital, tmp_path):
    home = peers.alice.home
    with submission_server() as (cabinet_port, cabinet), submission_server() as (hospital_port, hospital_relay):
        write_account(home, "cabinet", address="alice@pli.test", default=True, smtp_host="127.0.0.1",
                      smtp_port=cabinet_port, smtp_security="none")
        write_account(home, "hopital", address="alice@hopital.example", send_to=["hopital.example"],
                      smtp_host="127.0.0.1", smtp_port=hospital_port, smtp_security="none")
        sent = pli(tmp_path, peers.alice, "send", "--to", f"bob@pli.test,{HOSPITAL}", stdin=inner_message())
    assert sent.returncode == 0, sent.stderr
    plan = sent.stderr.decode()
    assert "plan: stream mode, 2 recipients" in plan
    x25519 = "stream, its key by X25519 (no pad shared)"
    assert f"  bob@pli.test: {x25519}; via account cabinet (127.0.0.1:{cabinet_port})" in plan
    assert f"  {HOSPITAL}: {x25519}; via account hopital (127.0.0.1:{hospital_port})" in plan
    [(from_a, rcpts_a, data_a)] = cabinet.messages
    [(from_b, rcpts_b, data_b)] = hospital_relay.messages
    assert (from_a, rcpts_a) == ("alice@pli.test", ["bob@pli.test"])
    assert (from_b, rcpts_b) == ("alice@hopital.example", [HOSPITAL])
    assert data_a == data_b                                  # one sealed mail, the same bytes to both
    envelope_id = open_mail(data_a, peers.bob).envelope_id
    sent_steps = [e for e in steps_of(home, envelope_id) if e.step == "sent"]
    assert sorted(tuple(e.details["recipients"]) for e in sent_steps) == [("bob@pli.test",), (HOSPITAL,)]
    assert outbox.pending(home) == []


def test_a_mail_half_sent_through_two_accounts_resends_only_to_those_still_waiting(peers, hospital, tmp_path):
    home = peers.alice.home
    hospital_port = free_port()                                 # the hospital's relay is down at first
    with submission_server() as (cabinet_port, cabinet):
        write_account(home, "cabinet", address="alice@pli.test", default=True, smtp_host="127.0.0.1",
                      smtp_port=cabinet_port, smtp_security="none")
        write_account(home, "hopital", address="alice@hopital.example", send_to=["hopital.example"],
                      smtp_host="127.0.0.1", smtp_port=hospital_port, smtp_security="none")
        failed = pli(tmp_path, peers.alice, "send", "--to", f"bob@pli.test,{HOSPITAL}", stdin=inner_message())
        assert failed.returncode == 75
        [kept] = outbox.pending(home)
        assert dict(kept.done).keys() == {"bob@pli.test"} and "account hopital" in kept.last_error
        sealed = kept.read()
        listed = pli(tmp_path, peers.alice, "send", "--list").stdout.decode()
        assert f"to {HOSPITAL} (accepted already for bob@pli.test)" in listed
        with submission_server(port=hospital_port) as (_, hospital_relay):
            flushed = pli(tmp_path, peers.alice, "send", "--flush")
    assert flushed.returncode == 0, flushed.stderr
    assert len(cabinet.messages) == 1                           # bob does not get it twice
    [(_, rcpts, data)] = hospital_relay.messages
    assert rcpts == [HOSPITAL] and data == crlf(sealed)
    assert outbox.pending(home) == []


def test_no_account_for_a_recipient_is_said_before_anything_is_sealed(peers, hospital, tmp_path):
    from pli.core.transport.accounts import route

    home = peers.alice.home
    write_account(home, "cabinet", address="alice@pli.test", smtp_host="127.0.0.1", smtp_security="none")
    write_account(home, "labo", address="alice@pli.test", send_to=["labo.example"], smtp_host="127.0.0.1",
                  smtp_security="none")
    refused = pli(tmp_path, peers.alice, "send", "--to", HOSPITAL, stdin=inner_message())
    assert refused.returncode == 3
    assert f"no account sends to {HOSPITAL}" in refused.stderr.decode()
    assert outbox.pending(home) == []
    assert [(a.name, r) for a, r in route(home, ["x@labo.example", "bob@pli.test"], "cabinet")] == \
        [("cabinet", ["x@labo.example", "bob@pli.test"])]


def test_send_to_rules_are_checked(peers):
    from pli.core.transport.accounts import route

    home = peers.alice.home
    write_account(home, "one", address="alice@pli.test", send_to=["hopital.example"])
    write_account(home, "two", address="alice@pli.test", send_to=["HOPITAL.example"])
    with pytest.raises(AccountError, match="hopital.example in both"):
        load_accounts(home)
    home.config.write_text("")
    write_account(home, "one", address="alice@pli.test", send_to=["dr@hopital.example/x"])
    with pytest.raises(AccountError, match="is not a domain"):
        load_accounts(home)
    home.config.write_text("")
    write_account(home, "one", address="alice@pli.test", smtp_password="hunter2")
    with pytest.raises(AccountError, match="in clear"):
        load_accounts(home)
    home.config.write_text("")
    write_account(home, "other", address="alice@pli.test", default=True)
    write_account(home, "wide", address="alice@pli.test", send_to=["hopital.example"])
    write_account(home, "narrow", address="alice@pli.test", send_to=["cardio.hopital.example"])
    assert [a.name for a, _ in route(home, [HOSPITAL])] == ["narrow"]              # the longest rule wins
    assert [a.name for a, _ in route(home, ["x@radio.hopital.example"])] == ["wide"]
    assert [a.name for a, _ in route(home, ["x@nothopital.example"])] == ["other"]  # a suffix is not a subdomain


def test_a_mail_every_server_accepted_before_a_crash_leaves_the_outbox_without_being_sent_again(peers):
    """_mark_sent writes the state (every recipient done) and then moves the file: a kill in between."""
    home = peers.alice.home
    queued = outbox.queue(home, peers.sealed(to=("bob@pli.test",)))
    outbox._write_state(home, queued.key, {"attempts": 1, "done": {"bob@pli.test": "Q1"}, "queue_id": "Q1",
                                           "server": "relay:25"})
    calls = []
    report = outbox.flush(home, lambda raw, sender, rcpts: calls.append(rcpts))
    assert calls == [] and report.completed == [queued.key] and not report.not_tried
    assert outbox.pending(home) == [] and len(list((outbox.outbox_dir(home) / "cur").iterdir())) == 1


def test_a_mail_naming_no_recipient_is_refused_for_good_not_left_untried(peers):
    home = peers.alice.home
    outbox.queue(home, b"From: alice@pli.test\nSubject: x\n\nno recipient\n")
    report = outbox.flush(home, lambda raw, sender, rcpts: pytest.fail("nothing to send to"))
    [(_, error)] = report.failed
    assert error.permanent and "names no recipient" in error.message and not report.not_tried
    [kept] = outbox.pending(home)
    assert kept.permanent
