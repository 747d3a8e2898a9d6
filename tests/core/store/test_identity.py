"""A stored message's identity is pli's, not the sender's: a Message-ID another sender chose first never hides the
genuine message (real notmuch, real `pli search`), and replies still thread with what they answer."""
from __future__ import annotations

import email
import email.policy

import notmuch2
import pytest

from crypto_fixtures import PASSPHRASE, inner_message, people
from pli.core.cli import main
from pli.core.crypto.envelope import seal_mail
from pli.core.lab.generator import LABS, PRACTITIONERS, generate
from pli.core.store import Store, create_store
from pli.core.store.importer import import_sources
from pli.core.store.layout import Layout

SQUATTED = "<resultat-critique-42@labo-estuaire.example>"


@pytest.fixture
def net(tmp_path, monkeypatch):
    """the lab, the doctor who gets its results, and mallory: a verified correspondent of the doctor too."""
    lab, doctor, mallory = people(tmp_path, "lab", "doctor", "mallory")
    create_store(doctor.home)
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    return lab, doctor, mallory


def critical_result(message_id: str) -> bytes:
    """A generated lab mail with a critical result, under `message_id`."""
    message = next(m for m in generate(40, seed=11, patients=20, labs=LABS[:1], practitioners=PRACTITIONERS[:1])
                   if any(r.severity == "critical" for r in m.reports))
    return message.inner_bytes.replace(f"Message-ID: {message.message_id}".encode(),
                                       f"Message-ID: {message_id}".encode())


def deliver(keyring, raw: bytes, name: str) -> None:
    (keyring.home.root / "incoming" / "new" / name).write_bytes(raw)
    import_sources(keyring.home, None, keyring=keyring, workers=1)


def search(capsys, keyring, *query: str) -> list[str]:
    assert main(["--home", str(keyring.home.root), "search", *query]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_squatted_message_id_never_hides_the_genuine_critical_result(net, capsys):
    lab, doctor, mallory = net
    squat = inner_message(subject="Rien", body="Rien à voir.\n").replace(b"<inner-1@pli.test>", SQUATTED.encode())
    deliver(doctor, seal_mail(squat, mallory, ["doctor@pli.test"]), "first")     # mallory gets there first
    deliver(doctor, seal_mail(critical_result(SQUATTED), lab, ["doctor@pli.test"]), "genuine")

    found = search(capsys, doctor, "critical")
    assert len(found) == 1 and "Dr Lab" in found[0]
    assert len(search(capsys, doctor, "*")) == 2                # two messages: neither swallowed the other
    with Store.open(doctor.home) as store:
        [genuine] = store.window("tag:critical", 0, 10)
        clear = store.read_clear(genuine.message_id)
    assert {"verified", "lab", "critical", "inbox"} <= genuine.tags
    assert genuine.message_id != SQUATTED.strip("<>")
    assert f"X-Pli-Original-Message-Id: {SQUATTED}".encode() in clear        # kept for threading and receipts


def test_the_genuine_message_first_is_not_hidden_by_a_later_squatter_either(net, capsys):
    lab, doctor, mallory = net
    deliver(doctor, seal_mail(critical_result(SQUATTED), lab, ["doctor@pli.test"]), "genuine")
    squat = inner_message(subject="Faux").replace(b"<inner-1@pli.test>", SQUATTED.encode())
    deliver(doctor, seal_mail(squat, mallory, ["doctor@pli.test"]), "later")
    assert len(search(capsys, doctor, "critical")) == 1
    assert len(search(capsys, doctor, "from:mallory@pli.test")) == 1


def test_plain_mail_allowed_in_the_inbox_cannot_squat_either(net, capsys):
    lab, doctor, _ = net
    doctor.home.config.write_text(doctor.home.config.read_text().replace("quarantine_unsealed = true",
                                                                          "quarantine_unsealed = false"))
    plain = (f"From: someone@elsewhere.example\nTo: doctor@pli.test\nSubject: hello\nMessage-ID: {SQUATTED}\n\n"
             "plain text\n").encode()
    deliver(doctor, plain, "plain")
    other = plain.replace(b"plain text", b"another plain text, same id")
    deliver(doctor, other, "plain-2")
    deliver(doctor, seal_mail(critical_result(SQUATTED), lab, ["doctor@pli.test"]), "genuine")
    assert len(search(capsys, doctor, "critical")) == 1
    assert len(search(capsys, doctor, "tag:unsealed")) == 2        # two plain mails, one id: both kept


def _thread(layout: Layout, message_id: str) -> str:
    """The notmuch thread of a message, read with libnotmuch itself."""
    with notmuch2.Database(str(layout.mail), "ro", config=str(layout.notmuch_config)) as db:
        return db.find(message_id).threadid


def test_replies_thread_with_what_they_answer(net):
    """The lab's result, the doctor's reply (Sent), the lab's answer to that reply: one notmuch thread."""
    from pli.core.mail.send import seal_and_queue

    lab, doctor, _ = net
    deliver(doctor, seal_mail(critical_result("<bilan-7@labo>"), lab, ["doctor@pli.test"]), "result")
    with Store.open(doctor.home) as store:
        [result] = store.window("tag:critical", 0, 10)
    reply = email.message_from_bytes(b"From: Dr Doctor <doctor@pli.test>\nTo: lab@pli.test\nSubject: Re: bilan\n"
                                     b"Message-ID: <reply-1@pli.test>\nIn-Reply-To: <bilan-7@labo>\n"
                                     b"References: <bilan-7@labo>\n\nVu, merci.\n", policy=email.policy.default)
    seal_and_queue(doctor.home, doctor, reply, ["lab@pli.test"], receipts="none")
    answer = (b"From: Dr Lab <lab@pli.test>\nTo: doctor@pli.test\nSubject: Re: Re: bilan\n"
              b"Message-ID: <answer-1@labo>\nIn-Reply-To: <reply-1@pli.test>\n"
              b"References: <bilan-7@labo> <reply-1@pli.test>\n\nControle demain.\n")
    deliver(doctor, seal_mail(answer, lab, ["doctor@pli.test"]), "answer")
    with Store.open(doctor.home) as store:
        [stored_answer] = [r for r in store.window("from:lab@pli.test", 0, 10) if "critical" not in r.tags]
    layout = Layout(doctor.home)
    assert _thread(layout, result.message_id) == _thread(layout, "reply-1@pli.test") \
        == _thread(layout, stored_answer.message_id)


def test_the_thread_view_puts_a_correction_under_its_labs_report_not_under_a_squatter(net):
    """Two stored messages claim the lab's id (mallory's came first); the lab's correction answering it is
    shown under the lab's own report, the squatter's message at the top of the thread, under nothing."""
    lab, doctor, mallory = net
    squat = inner_message(subject="Rien", body="Rien.\n").replace(b"<inner-1@pli.test>", SQUATTED.encode())
    deliver(doctor, seal_mail(squat, mallory, ["doctor@pli.test"]), "squat")
    deliver(doctor, seal_mail(critical_result(SQUATTED), lab, ["doctor@pli.test"]), "genuine")
    correction = (b"From: Dr Lab <lab@pli.test>\nTo: doctor@pli.test\nSubject: Correction\n"
                  b"Message-ID: <correction-1@labo>\nIn-Reply-To: " + SQUATTED.encode() + b"\n"
                  b"References: " + SQUATTED.encode() + b"\n\nKaliemie 4,1 (hemolyse).\n")
    deliver(doctor, seal_mail(correction, lab, ["doctor@pli.test"]), "correction")
    with Store.open(doctor.home) as store:
        [genuine] = store.window("tag:critical", 0, 10)
        [thread] = [t for t in store.thread_window("*", 0, 10) if t.count == 3]
        entries = store.thread(thread.thread_id)
    shown = [(e.depth, e.summary.subject) for e in entries]
    under = {e.summary.subject: entries[i - 1].summary.message_id for i, e in enumerate(entries) if e.depth == 1}
    assert sorted(d for d, _ in shown) == [0, 0, 1] and under["Correction"] == genuine.message_id


def test_receipts_still_name_the_message_as_its_sender_knows_it(net):
    """The doctor's receipt states the lab's own Message-ID, so the lab finds its sent message."""
    from pli.core.receipts.answer import original_of

    lab, doctor, _ = net
    asked = critical_result("<asked-9@labo>").replace(b"MIME-Version: 1.0\n",
                                                      b"Pli-Receipt-Request: delivery\nMIME-Version: 1.0\n", 1)
    deliver(doctor, seal_mail(asked, lab, ["doctor@pli.test"]), "asked")
    with Store.open(doctor.home) as store:
        [row] = store.window("tag:critical", 0, 10)
        original = original_of(store.read_clear(row.message_id), row.message_id)
    assert original.stated_id == "asked-9@labo" and original.message_id == row.message_id
