"""Importing sealed lab mail: verified messages tagged from their envelope and lab payload,
every refusal quarantined with its reason, replays caught by the one writer, reruns idempotent."""
import os
import subprocess
import sys

from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.ledger import Ledger
from pli.core.crypto.mime import extract_envelope, outer_mail
from pli.core.crypto.pairing import introduce
from pli.core.lab.generator import generate
from pli.core.home import Home
from pli.core.store import Store, create_store
from pli.core.store.importer import import_sources

from crypto_fixtures import PASSPHRASE, make_keyring, people
from store_fixtures import (held, make_maildir, make_mbox, pair, plain_mail,  # noqa: F401 - pair is a fixture
                            store_files)

CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]


def rewrap(sealed: bytes, edit) -> bytes:
    envelope = bytearray(extract_envelope(sealed))
    return outer_mail(bytes(edit(envelope)), "Dr Alice", "alice@pli.test", ["bob@pli.test"], 0, "ab" * 16)


def resign(keyring, envelope: bytearray) -> bytearray:
    """Re-sign an edited envelope with the sender's own key (a sender-side fault, not a forgery)."""
    signed = bytes(envelope[:-64])
    return bytearray(signed + keyring.identity.sign(fmt.SIGN_DOMAIN + signed))


def test_verified_lab_mail_gets_tags_properties_and_checked_headers(pair, tmp_path):
    alice, bob = pair
    generated = generate(12, seed=3)
    sealed = [seal_mail(g.inner_bytes, alice, ["bob@pli.test"]) for g in generated]
    make_maildir(tmp_path / "in", sealed)
    report = import_sources(bob.home, [tmp_path / "in"], keyring=bob, workers=2, batch=5)
    assert report.imported == 12 and not report.quarantined and not report.failed
    with Store.open(bob.home) as store:
        assert store.count("tag:sealed and tag:verified and tag:inbox and tag:unread and tag:lab") == 12
        for g in generated:
            (row,) = store.window(f"id:{held(bob.home, g.message_id.strip('<>'))}", 0, 1)
            severity = max((r.severity for r in g.reports), key=["normal", "abnormal", "critical"].index)
            assert ("critical" in row.tags) == (severity == "critical")
            assert ("abnormal" in row.tags) == (severity in ("abnormal", "critical"))
            assert {f"patient:{r.patient.key}" for r in g.reports} <= row.tags
            assert row.verified and row.mode in ("otp", "stream") and row.sender == "Dr Alice"
            assert row.patient == g.reports[0].patient.display
            assert row.lab_summary.startswith(g.reports[0].summary()[:10]) or severity == "normal"
            assert row.subject == g.subject
            raw = store.read_clear(row.message_id)
            assert b"X-Pli-Verified: yes\n" in raw and b"From: Dr Alice <alice@pli.test>\n" in raw
            assert g.payload[:40] in raw or b"base64" in raw  # the attachment travels as the lab sent it
        assert store.count("abnormal") == sum(
            any(r.severity != "normal" for r in g.reports) for g in generated)
        key = generated[0].reports[0].patient.key
        assert store.count(f'tag:"patient:{key}"') >= 1


def test_rerun_and_a_second_copy_in_an_mbox_add_nothing(pair, tmp_path):
    alice, bob = pair
    sealed = [seal_mail(g.inner_bytes, alice, ["bob@pli.test"]) for g in generate(6, seed=4)]
    make_maildir(tmp_path / "md", sealed)
    make_mbox(tmp_path / "copy.mbox", sealed)
    first = import_sources(bob.home, [tmp_path / "md"], keyring=bob, workers=1)
    files = store_files(bob.home)
    again = import_sources(bob.home, [tmp_path / "md", tmp_path / "copy.mbox"], keyring=bob, workers=2)
    assert first.imported == 6 and again.already == 12 and again.imported == 0
    assert store_files(bob.home) == files


def test_each_refusal_is_quarantined_with_its_reason(pair, tmp_path):
    alice, bob = pair
    good = seal_mail(generate(1, seed=5)[0].inner_bytes, alice, ["bob@pli.test"], mode="stream")
    stranger = make_keyring(tmp_path / "x", "mallory", 9)
    stranger.import_public(bob.identity.public)
    last_ct_byte = len(extract_envelope(good)) - 64 - 1 - 200
    cases = {
        "unsealed": plain_mail(1),
        "unknown-sender": seal_mail(b"Subject: hi\n\nhello\n", stranger, ["bob@pli.test"]),
        "bad-signature": rewrap(good, lambda e: e[:-1] + bytes([e[-1] ^ 1])),
        "bad-mac": rewrap(good, lambda e: resign(alice, e.__setitem__(last_ct_byte, e[last_ct_byte] ^ 1) or e)),
        "malformed": rewrap(good, lambda e: e[:40]),
    }
    for reason, raw in cases.items():
        (tmp_path / f"{reason}.eml").write_bytes(raw)
    report = import_sources(bob.home, [tmp_path / f"{r}.eml" for r in cases], keyring=bob, workers=1)
    assert dict(report.quarantined) == {reason: 1 for reason in cases}
    assert {(o.reason, o.origin) for o in report.bad} == {(r, str(tmp_path / f"{r}.eml")) for r in cases}
    with Store.open(bob.home) as store:
        for reason in cases:
            (row,) = store.window(f"tag:quarantine and tag:{reason}", 0, 5)
            assert not row.verified and "inbox" not in row.tags and "verified" not in row.tags
            assert f"X-Pli-Reason: {reason}".encode() in store.read_clear(row.message_id)
        assert store.count("tag:verified") == 0
    assert f"{reason}: {tmp_path / 'malformed.eml'}" in report.render()


def test_a_replayed_pad_range_is_quarantined_by_the_writer(pair, tmp_path):
    alice, bob = pair
    first = seal_mail(b"Subject: one\nMessage-ID: <one@pli.test>\n\nfirst\n", alice, ["bob@pli.test"], mode="otp")
    alice.ledger.path.unlink()                 # a sender whose ledger was lost reuses her pad bytes
    alice.ledger = Ledger(alice.ledger.path)
    second = seal_mail(b"Subject: two\nMessage-ID: <two@pli.test>\n\nsecond\n", alice, ["bob@pli.test"], mode="otp")
    make_maildir(tmp_path / "in", [first, second])
    report = import_sources(bob.home, [tmp_path / "in"], keyring=bob, workers=1)
    assert report.imported == 1 and dict(report.quarantined) == {"replay": 1}
    with Store.open(bob.home) as store:
        assert store.count(f"id:{held(bob.home, 'one@pli.test')} and tag:verified") == 1
        assert store.count("tag:quarantine and tag:replay and tag:sealed") == 1
    rerun = import_sources(bob.home, [tmp_path / "in"], keyring=bob, workers=1)
    assert rerun.already == 2  # the first is not a replay of itself; the second stays quarantined once


def test_cli_pli_new_with_the_passphrase_file(pair, tmp_path):
    alice, bob = pair
    for i, g in enumerate(generate(3, seed=6)):
        (bob.home.root / "incoming" / "new" / f"{i}.mail").write_bytes(
            seal_mail(g.inner_bytes, alice, ["bob@pli.test"]))
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    env = {**os.environ, "PLI_PASSPHRASE_FILE": str(secret)}
    done = subprocess.run(CLI + ["--home", str(bob.home.root), "new"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("3 imported, 0 already there, 0 quarantined")
    assert not os.listdir(bob.home.root / "incoming" / "new")
    search = subprocess.run(CLI + ["--home", str(bob.home.root), "search", "lab", "and", "verified"],
                            capture_output=True, text=True, env=env)
    assert len(search.stdout.splitlines()) == 3


def test_sealed_mail_without_a_keyring_is_left_in_place(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    bare = Home(tmp_path / "no-keys")  # a store, no keyring (not yet set up on this machine)
    create_store(bare)
    (bare.root / "incoming" / "new" / "m").write_bytes(seal_mail(b"Subject: x\n\ny\n", alice, ["bob@pli.test"]))
    report = import_sources(bare, None, workers=1)
    assert [f.reason for f in report.failed] == ["no-keyring"]
    assert os.listdir(bare.root / "incoming" / "new") == ["m"]


def test_pli_lab_show_takes_a_stored_message_id(pair, tmp_path):
    alice, bob = pair
    g = generate(1, seed=8)[0]
    (tmp_path / "one.eml").write_bytes(seal_mail(g.inner_bytes, alice, ["bob@pli.test"]))
    import_sources(bob.home, [tmp_path / "one.eml"], keyring=bob, workers=1)
    message_id = held(bob.home, g.message_id.strip("<>"))
    shown = subprocess.run(CLI + ["--home", str(bob.home.root), "lab", "show", f"id:{message_id}"],
                           capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert shown.returncode == 0, shown.stderr
    assert g.reports[0].patient.last_name.upper() in shown.stdout
    missing = subprocess.run(CLI + ["--home", str(bob.home.root), "lab", "show", "id:nope@x"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file or stored message" in missing.stderr



def test_import_writes_one_verifiable_trace_step_per_new_message(tmp_path):
    """Each message imported or quarantined leaves one signed step, and the trace verifies."""
    from pli.core.audit import verify
    from pli.core.audit.entry import decode
    from pli.core.audit.journal import read_lines, steps_of
    from pli.core.home import Home

    root = tmp_path / "demo"
    demo = [sys.executable, "-m", "pli.tui.launcher", "demo", "--size", "30", "--no-open", str(root)]
    subprocess.run(demo, check=True, capture_output=True)
    home = Home(root)

    def entries():
        return [decode(raw).entry for _n, raw in read_lines(home)]

    first = entries()
    assert verify(home).entries == len(first) > 30
    assert {e.step for e in first} == {"opened-verified", "quarantined"}
    assert len({e.message for e in first}) == len(first)
    verified = next(e for e in first if e.step == "opened-verified")
    assert verified.details["mode"] in ("otp", "stream") and verified.details["fingerprint"]
    assert [e.step for e in steps_of(home, verified.message)] == ["opened-verified"]

