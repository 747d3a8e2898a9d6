"""Receipts between real homes without a network: the format, forged receipts, and crashes mid-answer.

Mail moves the way a gateway moves it: the sealed bytes of one home's outbox are
dropped into the other's incoming Maildir, then the real import runs.
"""
from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import store_fixtures
from crypto_fixtures import inner_message, make_keyring, people
from pli.core.audit import steps_of, verify
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.pairing import introduce
from pli.core.errors import ConfigError, UsageError
from pli.core.mail.send import seal_and_queue
from pli.core.receipts import acknowledgements, after_import, ask, import_tags, kinds_option
from pli.core.receipts.config import load_receipts_config
from pli.core.receipts.answer import answering, answer, original_of
from pli.core.receipts.message import BadReceipt, Receipt, build, parse
from pli.core.store import Store, create_store
from pli.core.mail.receive import receive
from pli.core.store.layout import Layout
from pli.core.transport import outbox

WHEN = datetime(2026, 3, 1, 8, 15, 2, tzinfo=timezone.utc)
ENVELOPE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def homes(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    carol = make_keyring(tmp_path, "carol", 3)
    introduce(alice, bob, carol)        # carol is a known colleague of both, but not a recipient
    for keyring in (alice, bob, carol):
        create_store(keyring.home, address=keyring.identity.public.address)
        set_config(keyring, flush=False)    # no account: receipts wait in the outbox
    return alice, bob, carol


def set_config(keyring, **values) -> None:
    """Replace the [receipts] section, keep the rest of config.toml."""
    path = keyring.home.config
    kept = path.read_text().split("[receipts]")[0] if path.exists() else ""
    path.write_text(kept + "[receipts]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def send(sender, to: list[str], mid: str, kinds: str | None = "delivery") -> str:
    """Seal, queue and trace as `pli send` and the TUI's compose do; returns the envelope id."""
    inner = email.message_from_bytes(inner_message().replace(b"inner-1", mid.encode()), policy=email.policy.default)
    return seal_and_queue(sender.home, sender, inner, to, receipts=kinds).envelope_id


def carry(sender, *recipients) -> None:
    """What a gateway does: every waiting sealed mail of `sender` lands in each recipient's incoming/new."""
    for item in outbox.pending(sender.home):
        for keyring in recipients:
            if keyring.identity.public.address in item.recipients:
                (keyring.home.root / "incoming" / "new" / f"{item.key}.pli").write_bytes(item.read())
        item.path.rename(outbox.outbox_dir(sender.home) / "cur" / f"{item.path.name}{outbox.SENT_FLAGS}")


def new(keyring):
    return receive(keyring.home, None, keyring=keyring, workers=1)


def tags(keyring, message_id: str) -> frozenset:
    with Store.open(keyring.home) as store:
        return store.summary(message_id).tags


# -- the format -------------------------------------------------------------------------------------


def test_a_receipt_reads_back_as_written_and_names_no_content():
    stated = Receipt("read", ENVELOPE, "inner-1@pli.test", "bob@pli.test", "10000000002", WHEN)
    raw = build(stated, "Dr Bob", "alice@pli.test")
    assert parse(raw) == stated
    assert b"K+" not in raw and b"DUPONT" not in raw
    assert b"Message-ID" not in raw       # the receiving store names it: nobody can take the name first
    assert import_tags(raw, ("inbox", "sealed", "unread", "verified")) == ("receipt", "receipt-due", "sealed",
                                                                           "verified")


@pytest.mark.parametrize("damage", [
    lambda raw: raw.replace(b"Kind: read", b"Kind: seen"),
    lambda raw: raw.replace(b"Version: 1", b"Version: 2"),
    lambda raw: raw.replace(b"Time: 2026-03-01T08:15:02Z", b"Time: yesterday"),
    lambda raw: raw.replace(b"Original-Envelope-Id: " + ENVELOPE.encode(), b"Original-Envelope-Id: zz"),
    lambda raw: raw.replace(b"Recipient: bob@pli.test\n", b""),
    lambda raw: raw.replace(b"application/x-pli-receipt", b"text/plain"),
])
def test_a_damaged_receipt_is_refused(damage):
    raw = build(Receipt("read", ENVELOPE, "m@pli.test", "bob@pli.test", "1", WHEN), "Dr Bob", "alice@pli.test")
    with pytest.raises(BadReceipt):
        parse(damage(raw))


@given(st.binary(max_size=600), st.integers(min_value=0, max_value=700))
def test_any_bytes_in_a_receipt_give_a_receipt_or_bad_receipt(noise, where):
    raw = build(Receipt("read", ENVELOPE, "m@pli.test", "bob@pli.test", "1", WHEN), "Dr Bob", "alice@pli.test")
    for candidate in (noise, raw[:where] + noise + raw[where:]):
        try:
            parse(candidate)
        except BadReceipt:
            pass
        import_tags(candidate, ("inbox",))   # the importer's look never fails either


def test_asking_marks_the_inner_message_and_only_known_kinds_are_accepted():
    asked = ask(inner_message(), "read,delivery")
    assert b"Pli-Receipt-Request: delivery, read\n" in asked
    assert ask(asked, "read").count(b"Pli-Receipt-Request") == 1
    assert import_tags(asked, ("inbox",)) == ("inbox", "receipt-due", "receipt-request")
    assert import_tags(inner_message(), ("inbox",)) == ("inbox",)
    assert kinds_option("both") == ("delivery", "read") and kinds_option("") == ()
    with pytest.raises(UsageError, match="seen"):
        kinds_option("delivery,seen")


def test_the_ask_setting_is_the_default_request_and_an_option_overrides_it(homes):
    alice, bob, _ = homes
    set_config(alice, ask="delivery,read", flush=False)
    asked = send(alice, ["bob@pli.test"], "ask-1", kinds=None)
    plain = send(alice, ["bob@pli.test"], "ask-2", kinds="none")
    with Store.open(alice.home) as store:
        assert b"Pli-Receipt-Request: delivery, read" in store.read_clear("ask-1@pli.test")
        assert b"Pli-Receipt-Request" not in store.read_clear("ask-2@pli.test")
    requested = [e.details["receipt"] for e in steps_of(alice.home, asked) if e.step == "receipt-requested"]
    assert requested == ["delivery", "read"]
    assert [e.step for e in steps_of(alice.home, plain)] == ["sealed"]
    carry(alice, bob)
    new(bob)
    assert receipts_waiting(bob) == 1                   # one delivery receipt: ask-2 asked nothing
    set_config(alice, ask="seen")
    with pytest.raises(ConfigError, match="seen"):
        load_receipts_config(alice.home.config)


# -- forged and misdirected receipts ----------------------------------------------------------------


def forged(signer, envelope_id: str, mid: str, recipient: str, to: str = "alice@pli.test") -> bytes:
    """A receipt written and signed by `signer` (sealed mail)."""
    stated = Receipt("delivery", envelope_id, mid, recipient, "99", WHEN)
    sealed = seal_mail(build(stated, "Someone", signer.identity.public.address), signer, [to])
    return sealed


@pytest.mark.parametrize("who, claims, reason", [
    ("carol", "bob@pli.test", "wrong-signer"),        # carol signs a receipt in bob's name
    ("carol", "carol@pli.test", "not-a-recipient"),   # carol acknowledges a message she never got
])
def test_a_receipt_from_someone_else_is_quarantined_and_marks_nothing(homes, who, claims, reason):
    alice, bob, carol = homes
    envelope = send(alice, ["bob@pli.test"], "forged-1")
    signer = {"carol": carol}[who]
    (alice.home.root / "incoming" / "new" / "forged").write_bytes(
        forged(signer, envelope, "forged-1@pli.test", claims))
    report = new(alice)
    assert [o.reason for o in report.receipts.refused] == [reason]
    assert not {"delivered", "read"} & tags(alice, "forged-1@pli.test")
    assert acknowledgements(Layout(alice.home), "forged-1@pli.test") == []
    with Store.open(alice.home) as store:
        [refused] = store.window("tag:receipt", 0, 10)
    assert {"quarantine", "receipt-refused", reason} <= refused.tags and "receipt-due" not in refused.tags
    assert steps_of(alice.home, envelope)[-1].step != "receipt-received"
    verify(alice.home)


def test_a_receipt_for_another_envelope_or_an_unknown_message_is_refused(homes):
    alice, bob, _ = homes
    send(alice, ["bob@pli.test"], "real-1")
    (alice.home.root / "incoming" / "new" / "a").write_bytes(forged(bob, "f" * 32, "real-1@pli.test", "bob@pli.test"))
    (alice.home.root / "incoming" / "new" / "b").write_bytes(
        forged(bob, "e" * 32, "never-sent@pli.test", "bob@pli.test"))
    report = new(alice)
    assert sorted(o.reason for o in report.receipts.refused) == ["envelope-mismatch", "unknown-original"]
    assert "delivered" not in tags(alice, "real-1@pli.test")


def test_a_receipt_arriving_twice_is_recorded_once(homes):
    alice, bob, _ = homes
    envelope = send(alice, ["bob@pli.test"], "twice-1")
    for name in ("one", "two"):   # two sealings of the same statement: two envelopes
        (alice.home.root / "incoming" / "new" / name).write_bytes(
            forged(bob, envelope, "twice-1@pli.test", "bob@pli.test"))
    report = new(alice)
    assert len(report.receipts.accepted) == 2 and report.receipts.refused == []
    assert [e.step for e in steps_of(alice.home, envelope)].count("receipt-received") == 1
    assert len(acknowledgements(Layout(alice.home), "twice-1@pli.test")) == 1
    assert "delivered" in tags(alice, "twice-1@pli.test")


def test_a_message_sent_to_two_is_delivered_once_both_acknowledge(homes):
    alice, bob, carol = homes
    send(alice, ["bob@pli.test", "carol@pli.test"], "both-1")
    carry(alice, bob, carol)
    new(bob)
    carry(bob, alice)
    new(alice)
    assert "delivered" not in tags(alice, "both-1@pli.test")
    assert [a.address for a in acknowledgements(Layout(alice.home), "both-1@pli.test")] == ["bob@pli.test"]
    new(carol)
    carry(carol, alice)
    new(alice)
    assert "delivered" in tags(alice, "both-1@pli.test")


# -- never twice, never for the unverified ----------------------------------------------------------


def receipts_waiting(keyring) -> int:
    return len(outbox.pending(keyring.home))


def held(keyring, sender_mid: str) -> str:
    return store_fixtures.held(keyring.home, sender_mid)


def redue(keyring, message_id: str) -> None:
    """The state a crash leaves when it strikes before the pass takes a message off the due list."""
    with Store.open(keyring.home, writable=True) as store:
        store.tag([message_id], add=("receipt-due",), remove=("receipt-sent:delivery",))


def test_a_crash_after_queueing_does_not_answer_twice(homes):
    alice, bob, _ = homes
    envelope = send(alice, ["bob@pli.test"], "crash-1")
    carry(alice, bob)
    new(bob)
    assert receipts_waiting(bob) == 1
    redue(bob, held(bob, "crash-1@pli.test"))
    assert after_import(bob.home, bob).queued == []
    assert receipts_waiting(bob) == 1
    assert [e.step for e in steps_of(bob.home, envelope)].count("receipt-sent") == 1
    assert "receipt-sent:delivery" in tags(bob, held(bob, "crash-1@pli.test"))


def test_a_crash_before_queueing_answers_once_at_the_rerun(homes):
    alice, bob, _ = homes
    send(alice, ["bob@pli.test"], "crash-2")
    carry(alice, bob)
    new(bob)
    [waiting] = outbox.pending(bob.home)
    waiting.path.unlink()                  # the marker was written, the outbox file never was
    redue(bob, held(bob, "crash-2@pli.test"))
    assert len(after_import(bob.home, bob).queued) == 1
    assert receipts_waiting(bob) == 1


def test_a_crash_before_the_trace_step_records_it_once_at_the_rerun(homes):
    alice, bob, _ = homes
    envelope = send(alice, ["bob@pli.test"], "crash-3")
    carry(alice, bob)
    set_config(bob, send_delivery=False, flush=False)
    new(bob)                               # stored, nothing answered yet

    class Crash(Exception):
        pass

    class CrashingJournal:
        def record(self, *args, **kwargs):
            raise Crash

    with Store.open(bob.home) as store:
        mid = held(bob, "crash-3@pli.test")
        original = original_of(store.read_clear(mid), mid)
    with answering(bob.home), pytest.raises(Crash):
        answer(bob.home, bob, original, "delivery", CrashingJournal())
    assert receipts_waiting(bob) == 1
    set_config(bob, flush=False)
    redue(bob, held(bob, "crash-3@pli.test"))
    assert after_import(bob.home, bob).queued == []
    assert receipts_waiting(bob) == 1
    assert [e.step for e in steps_of(bob.home, envelope)].count("receipt-sent") == 1
    [marker_file] = (bob.home.root / "receipts" / "sent").glob(f"{envelope}.*.delivery.json")
    marker = json.loads(marker_file.read_bytes())
    assert marker["traced"] is True


def test_a_request_that_cannot_be_answered_stays_due_and_the_import_goes_on(homes):
    from pli.core.crypto.keyring import load_correspondents, save_correspondents

    alice, bob, _ = homes
    send(alice, ["bob@pli.test"], "later-1")
    carry(alice, bob)
    set_config(bob, send_delivery=False, flush=False)
    new(bob)                                            # stored while bob still had alice's key
    later = held(bob, "later-1@pli.test")
    redue(bob, later)
    set_config(bob, flush=False)
    known = load_correspondents(bob.home)
    save_correspondents(bob.home, {a: p for a, p in known.items() if a != "alice@pli.test"})
    bob.reload()                                        # now he cannot seal to her
    report = after_import(bob.home, bob)
    assert [m for m, _ in report.failed] == [later]
    assert f"no receipt for id:{later} yet" in report.render()
    assert receipts_waiting(bob) == 0
    assert "receipt-due" in tags(bob, later)
    save_correspondents(bob.home, known)
    bob.reload()
    assert len(after_import(bob.home, bob).queued) == 1   # answered once the key is back
    assert "receipt-due" not in tags(bob, later)


def test_an_unverified_message_asking_for_a_receipt_is_never_answered(homes, tmp_path):
    alice, bob, _ = homes
    stranger = make_keyring(tmp_path, "mallory", 9)
    stranger.import_public(bob.identity.public)        # bob does not know mallory: unknown-sender
    inner = ask(inner_message().replace(b"inner-1", b"mallory-1"), "delivery")
    (bob.home.root / "incoming" / "new" / "m").write_bytes(seal_mail(inner, stranger, ["bob@pli.test"]))
    plain = ask(inner_message().replace(b"inner-1", b"plain-1"), "delivery")
    (bob.home.root / "incoming" / "new" / "p").write_bytes(plain)
    report = new(bob)
    assert sum(report.quarantined.values()) == 2 and report.receipts.queued == []
    assert receipts_waiting(bob) == 0
    with Store.open(bob.home) as store:
        assert store.count("tag:receipt-due") == 0


# -- groups and proxies, per the directory ----------------------------------------------------------


def test_a_member_answers_for_the_group_practice_the_message_was_sealed_to(homes):
    from directory_fixtures import Authority, entry_for

    alice, bob, carol = homes
    group = bob.create_group("cab-tilleuls", "tilleuls@pli.test", "Cabinet des Tilleuls")
    Authority().install(alice.home, [entry_for(group.public), entry_for(bob.identity.public,
                                                                         groups=("cab-tilleuls",)),
                                     entry_for(carol.identity.public)])
    send(alice, ["tilleuls@pli.test"], "group-1")
    for item in outbox.pending(alice.home):        # the practice's mail reaches bob
        (bob.home.root / "incoming" / "new" / item.key).write_bytes(item.read())
        item.path.unlink()
    new(bob)
    carry(bob, alice)
    report = new(alice)
    assert report.receipts.refused == [] and len(report.receipts.accepted) == 1
    [ack] = acknowledgements(Layout(alice.home), "group-1@pli.test")
    assert (ack.address, ack.recipient) == ("bob@pli.test", "tilleuls@pli.test")
    assert "delivered" in tags(alice, "group-1@pli.test")
    # carol, in the directory but not of the practice, cannot answer for it
    envelope = send(alice, ["tilleuls@pli.test"], "group-2")
    (alice.home.root / "incoming" / "new" / "c").write_bytes(
        forged(carol, envelope, "group-2@pli.test", "carol@pli.test"))
    assert [o.reason for o in new(alice).receipts.refused] == ["not-a-recipient"]


def test_another_sender_reusing_an_envelope_id_does_not_stop_the_genuine_receipt(homes):
    import os

    alice, bob, carol = homes
    envelope = send(alice, ["bob@pli.test"], "reuse-1")
    chosen = iter([bytes.fromhex(envelope)])            # carol's envelope takes alice's id

    def rng(n: int) -> bytes:
        return next(chosen, None) or os.urandom(n)

    inner = ask(inner_message().replace(b"inner-1", b"reuse-2"), "delivery")
    (bob.home.root / "incoming" / "new" / "0-carol").write_bytes(
        seal_mail(inner, carol, ["bob@pli.test"], rng=rng))
    carry(alice, bob)
    new(bob)
    assert sorted(item.recipients for item in outbox.pending(bob.home)) == [("alice@pli.test",),
                                                                           ("carol@pli.test",)]


def test_with_the_server_down_the_receipt_waits_in_the_outbox_and_the_import_succeeds(homes):
    from transport_fixtures import free_port, write_account

    alice, bob, _ = homes
    send(alice, ["bob@pli.test"], "down-1")
    carry(alice, bob)
    set_config(bob, flush=True)
    write_account(bob.home, address="bob@pli.test", smtp_host="127.0.0.1", smtp_port=free_port(),
                  smtp_security="none")
    report = new(bob)
    assert report.imported == 1 and len(report.receipts.queued) == 1 and report.receipts.sent == 0
    assert "receipts wait in the outbox" in report.render() and "refused" in report.receipts.not_sent
    [waiting] = outbox.pending(bob.home)
    assert waiting.attempts == 1 and waiting.recipients == ("alice@pli.test",)
