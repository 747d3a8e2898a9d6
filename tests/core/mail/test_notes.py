"""Short notes (pli.core.mail.conversation): the sealed mark, the limits, the `note` tag at import and in Sent,
a conversation's query, and what a forged or tampered note looks like."""
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from pli.core.mail import conversation, send
from pli.core.audit.journal import steps_of
from pli.core.crypto.envelope import open_mail, seal_mail
from pli.core.crypto.keyring import Keyring
from pli.core.demo import COLLEAGUE_NOTES, DEMO_PASSPHRASE, build_demo
from pli.core.errors import UsageError
from pli.core.home import Home
from pli.core.store.headers import first_values
from pli.core.mail.receive import receive
from pli.core.store.store import Store
from pli.core.transport import outbox

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
COLLEAGUE = "hugo.bernard@cabinet-demo.example"
ME = "claire.martin@cabinet-demo.example"


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("notes-demo") / "home", size=20, seed=5, now=NOW)


@pytest.fixture
def home(demo_source, tmp_path):
    root = tmp_path / "home"
    shutil.copytree(demo_source.home.root, root, symlinks=True)
    return Home(root)


def unlock(home: Home, peer: str = "") -> Keyring:
    return Keyring.unlock(Home(home.root / "peers" / peer) if peer else home, DEMO_PASSPHRASE)


def conversation_rows(home: Home, address: str):
    with Store.open(home) as store:
        return store.window(conversation.conversation_query(address), 0, 100)


def deliver(home: Home, sealed: bytes, name: str) -> None:
    (home.root / "incoming" / "new" / name).write_bytes(sealed)
    receive(home, None, keyring=unlock(home))


# -- writing a note ----------------------------------------------------------------------------------


def test_a_note_carries_its_mark_and_its_first_line_as_subject():
    inner = send.build_note(f"Dr A <{ME}>", f"Dr B <{COLLEAGUE}>", "  K+ 6.8 en salle 3\nrappelle-moi  ", NOW)
    assert conversation.is_note(inner) and inner[conversation.KIND_HEADER] == "note"
    assert inner["To"] == COLLEAGUE
    assert inner["Subject"] == "K+ 6.8 en salle 3"
    assert inner.get_content().strip() == "K+ 6.8 en salle 3\nrappelle-moi"
    long_line = "x" * 200
    assert len(send.build_note(ME, COLLEAGUE, long_line, NOW)["Subject"]) == conversation.SUBJECT_CHARS


def test_an_empty_or_too_long_note_is_refused():
    with pytest.raises(UsageError, match="empty"):
        send.build_note(ME, COLLEAGUE, " \n ", NOW)
    send.build_note(ME, COLLEAGUE, "é" * conversation.MAX_CHARS, NOW)
    with pytest.raises(conversation.NoteTooLong, match="at most 2,000 characters and this one has 2,001"):
        send.build_note(ME, COLLEAGUE, "é" * (conversation.MAX_CHARS + 1), NOW)


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b) or (tag:inbox", 'a"@b.c', "a@b c"])
def test_an_address_that_could_change_the_query_is_refused(bad):
    with pytest.raises(conversation.BadCorrespondent):
        conversation.conversation_query(bad)


def test_correspondent_of_a_received_and_of_a_sent_message():
    assert conversation.correspondent_of({"from": f"Dr B <{COLLEAGUE}>", "to": ME}, ME) == COLLEAGUE
    assert conversation.correspondent_of({"from": f"Dr A <{ME}>", "to": f"{ME}, Dr B <{COLLEAGUE.upper()}>"},
                                  ME) == COLLEAGUE
    with pytest.raises(conversation.BadCorrespondent):
        conversation.correspondent_of({}, ME)


# -- the store ---------------------------------------------------------------------------------------


def test_the_demo_notes_are_tagged_and_form_the_conversation(home):
    rows = conversation_rows(home, COLLEAGUE)
    assert len(rows) == COLLEAGUE_NOTES
    assert all("note" in r.tags and r.verified and "sent" not in r.tags for r in rows)
    assert [r.date for r in rows] == sorted((r.date for r in rows), reverse=True)   # newest first
    with Store.open(home) as store:
        assert store.count("tag:note") == COLLEAGUE_NOTES    # lab results are not notes
        assert conversation_rows(home, "resultats@labo-estuaire.example") == \
            store.window("tag:quarantine and from:resultats@labo-estuaire.example", 0, 100)


def test_a_sent_note_is_sealed_queued_traced_and_in_the_conversation(home):
    keyring = unlock(home)
    queued = send.send_note(home, keyring, COLLEAGUE, "Je passe à 14 h.", NOW)
    assert queued.recipients == (COLLEAGUE,)
    sealed = queued.read()
    assert b"Je passe" not in sealed
    opened = open_mail(sealed, unlock(home, "colleague"))
    assert first_values(opened.inner)["pli-kind"] == "note" and b"Je passe \xc3\xa0 14 h." in opened.inner
    assert [s.step for s in steps_of(home, queued.envelope_id)][:1] == ["sealed"]
    [mine] = [r for r in conversation_rows(home, COLLEAGUE) if "sent" in r.tags]
    assert {"note", "sent", "outbox"} <= mine.tags
    with Store.open(home) as store:
        note = conversation.note_of(mine, store.read_clear(mine.message_id))
    assert note.outgoing and note.verified and note.text == "Je passe à 14 h." and note.state == "queued"
    assert note.belongs_to(COLLEAGUE) and not note.belongs_to("bernard@cabinet-demo.example")


def test_a_received_note_reads_as_verified_with_its_text(home):
    colleague = unlock(home, "colleague")
    inner = send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, "Tu peux voir M. FICTIF ?", NOW)
    deliver(home, seal_mail(inner, colleague, [ME], now=int(NOW.timestamp())), "note.eml")
    rows = conversation_rows(home, COLLEAGUE)
    [row] = [r for r in rows if r.subject == "Tu peux voir M. FICTIF ?"]
    assert {"note", "verified", "inbox", "unread"} <= row.tags
    with Store.open(home) as store:
        note = conversation.note_of(row, store.read_clear(row.message_id))
    assert note.verified and not note.outgoing and note.text == "Tu peux voir M. FICTIF ?" and note.unread
    assert note.correspondent == COLLEAGUE
    assert note.mode == "otp"    # the demo's colleague shares a pad


def test_a_tampered_note_is_in_the_conversation_as_not_verified_without_its_text(home):
    colleague = unlock(home, "colleague")
    inner = send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, "Texte altéré en route", NOW)
    sealed = bytearray(seal_mail(inner, colleague, [ME], now=int(NOW.timestamp())))
    middle = len(sealed) * 2 // 3
    sealed[middle] = ord("A") if sealed[middle] != ord("A") else ord("B")
    deliver(home, bytes(sealed), "tampered.eml")
    [row] = [r for r in conversation_rows(home, COLLEAGUE) if "quarantine" in r.tags]
    assert "note" not in row.tags and not row.verified
    with Store.open(home) as store:
        note = conversation.note_of(row, store.read_clear(row.message_id))
    assert not note.verified and note.text == "" and note.reason in ("bad-signature", "bad-mac", "malformed")


def test_plain_mail_claiming_to_be_a_note_is_never_tagged_note(home):
    from email.message import EmailMessage

    forged = EmailMessage()
    forged["From"] = f"Dr Hugo Bernard <{COLLEAGUE}>"
    forged["To"] = ME
    forged["Subject"] = "Rappelle-moi au 06..."
    forged["Date"] = "Mon, 30 Nov 2026 07:00:00 +0000"
    forged[conversation.KIND_HEADER] = "note"
    forged.set_content("Urgent")
    deliver(home, bytes(forged), "forged.eml")
    with Store.open(home) as store:
        assert store.count("tag:note and tag:unsealed") == 0
    [row] = [r for r in conversation_rows(home, COLLEAGUE) if "unsealed" in r.tags]
    assert not row.verified and "quarantine" in row.tags


def test_state_of_a_sent_note_follows_transport_and_receipts():
    assert conversation.state_of(frozenset({"sent", "outbox"})) == "queued"
    assert conversation.state_of(frozenset({"sent"})) == "sent"
    assert conversation.state_of(frozenset({"sent", "delivered"})) == "delivered"
    assert conversation.state_of(frozenset({"sent", "delivered", "read"})) == "read"


def test_recent_note_dates_are_kept_in_order(home):
    keyring = unlock(home)
    for minutes in (1, 2):
        send.send_note(home, keyring, COLLEAGUE, f"note {minutes}", NOW + timedelta(minutes=minutes))
    rows = conversation_rows(home, COLLEAGUE)
    assert [r.subject for r in rows[:2]] == ["note 2", "note 1"]
    assert len(outbox.pending(home)) == 2


# -- pli note ----------------------------------------------------------------------------------------


def pli(home: Home, *args: str, stdin: str = ""):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PLI_PASSPHRASE_FILE=str(home.root / "demo-passphrase.txt"))
    return subprocess.run([sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())",
                           "--home", str(home.root), *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120)


def test_pli_note_queues_a_sealed_note_and_show_lists_the_conversation(home):
    sent = pli(home, "note", "--queue-only", COLLEAGUE, "Rappel :", "dossier", "FICTIF")
    assert sent.returncode == 0, sent.stderr
    [queued] = outbox.pending(home)
    assert queued.recipients == (COLLEAGUE,) and b"FICTIF" not in queued.read()
    assert b"Rappel : dossier FICTIF" in open_mail(queued.read(), unlock(home, "colleague")).inner
    shown = pli(home, "note", "--show", "--limit", "20", COLLEAGUE)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()     # dated now: where it sorts among the demo's notes depends on the day
    assert len(lines) == COLLEAGUE_NOTES + 1
    assert [line for line in lines if " me -> " in line][0].endswith(
        f"me -> {COLLEAGUE} [queued]  Rappel : dossier FICTIF")
    assert sum(f"{COLLEAGUE} -> me ✓" in line for line in lines) == COLLEAGUE_NOTES
    assert len(pli(home, "note", "--show", "--limit", "3", COLLEAGUE).stdout.splitlines()) == 3


def test_pli_note_refuses_a_long_note_before_asking_for_anything(home):
    refused = pli(home, "note", "--queue-only", COLLEAGUE, "-", stdin="x" * (conversation.MAX_CHARS + 1))
    assert refused.returncode == 2 and "at most 2,000 characters" in refused.stderr
    assert outbox.pending(home) == []


def test_recent_correspondents_are_the_latest_people_notes_were_exchanged_with(home):
    keyring = unlock(home)
    group = "secretariat@cabinet-tilleuls.example"
    send.send_note(home, keyring, group, "Salle 2 libre ?", NOW + timedelta(minutes=5))
    with Store.open(home) as store:
        assert conversation.recent_correspondents(store, ME) == [(group, ""), (COLLEAGUE, "Dr Hugo Bernard")]
        assert conversation.recent_correspondents(store, ME, limit=1) == [(group, "")]


@pytest.mark.parametrize("cte", ["8bit", "base64", "quoted-printable"])
@pytest.mark.parametrize("text", ["K+ 6.8 en salle 3", "Créat 180 µmol/L — à revoir\nligne 2\n", "x" * 900])
def test_the_fast_body_reader_agrees_with_the_email_package(cte, text):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "t"
    msg.set_content(text, cte=cte)
    raw = bytes(msg)
    assert conversation.body_text(raw, first_values(raw)) == msg.get_content()


def test_a_multipart_message_falls_back_to_its_text_part():
    from email.message import EmailMessage

    msg = EmailMessage()
    msg.set_content("le texte")
    msg.add_attachment(b"\x00\x01", maintype="application", subtype="octet-stream", filename="a.bin")
    raw = bytes(msg)
    assert conversation.body_text(raw, first_values(raw)).strip() == "le texte"


def test_notes_signed_with_a_key_the_directory_revoked_since_are_shown_not_verified(home):
    """The directory learnt of a compromise after the notes were stored: `pli note show` (and the
    TUI's conversation, through the same note_of) no longer shows them as the colleague's."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from pli.core.crypto.keyring import public_view
    from pli.core.directory import DirectoryEntry, PublicKey, import_directory, set_trust_anchor
    from pli.core.directory.signed import sign_directory

    colleague = public_view(Home(home.root / "peers" / "colleague"))[0]
    key = PublicKey("ed25519", colleague.sign_public)
    entry = DirectoryEntry(id=colleague.id, kind="person", name=colleague.name, addresses=(colleague.address,))
    entry = entry.with_key(key, NOW - timedelta(days=900)).with_revocation(key.fingerprint, NOW, "compromised")
    authority = Ed25519PrivateKey.generate()
    set_trust_anchor(home, PublicKey("ed25519", authority.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))
    import_directory(home, sign_directory([entry], authority, 1))

    shown = pli(home, "note", "--show", "--limit", "20", COLLEAGUE)
    assert shown.returncode == 0, shown.stderr
    assert sum(f"{COLLEAGUE} -> me ✓" in line for line in shown.stdout.splitlines()) == 0
    assert sum("NOT VERIFIED" in line for line in shown.stdout.splitlines()) == COLLEAGUE_NOTES
