"""`verify` and `pli audit verify` catch every kind of tampering and name the first bad entry, in journals of
both formats: version 2 (one signature per batch, on its last entry) and version 1 (every entry signed)."""
import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pli.core.audit import Journal, JournalTampered, Step, verify
from pli.core.audit import entry as entries
from pli.core.audit.journal import head_path, journal_path
from pli.core.cli import main
from pli.core.home import Home

from audit_v1 import write_v1_journal


KEY = Ed25519PrivateKey.generate()
SIX = [Step(step, f"env-{n}", {"queue_id": f"Q{n}"} if step == "sent" else {})
       for n in range(1, 4) for step in ("sealed", "sent")]


@pytest.fixture(params=["v2", "v1"])
def home(tmp_path, request):
    """Six entries in one batch: written by pli (version 2), or a version 1 journal of before."""
    home = Home(tmp_path / "home")
    if request.param == "v2":
        Journal(home, KEY, actor="dr.martin@pli.test").record_many(SIX)
    else:
        home.trace.mkdir(mode=0o700, parents=True)
        write_v1_journal(home, KEY, [(s.step, s.message_id, s.details) for s in SIX])
    return home


def version(home) -> int:
    return entries.decode(lines(home)[0].rstrip(b"\n")).version


def lines(home):
    return journal_path(home).read_bytes().splitlines(keepends=True)


def write(home, new_lines):
    journal_path(home).write_bytes(b"".join(new_lines))


def bad_seq(home):
    with pytest.raises(JournalTampered) as caught:
        verify(home)
    return caught.value


def test_an_untouched_journal_verifies(home):
    report = verify(home)
    assert (report.entries, report.last_seq) == (6, 6)


def test_an_edited_field_is_named(home):
    all_lines = lines(home)
    all_lines[3] = all_lines[3].replace(b'"queue_id":"Q2"', b'"queue_id":"Q7"')
    write(home, all_lines)
    error = bad_seq(home)
    assert error.seq == 4 and "edited" in str(error)


def test_an_edited_signature_is_named(home):
    """Version 1: each entry's own.  Version 2: the batch's one signature, on its last entry, which
    seals the batch's first five: the edit is named as the batch, 1..6."""
    all_lines = lines(home)
    at = 2 if version(home) == 1 else 5
    body, sig = all_lines[at].rstrip(b"\n").rsplit(b"\t", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[0] ^= 1
    all_lines[at] = body + b"\t" + base64.b64encode(bytes(raw)) + b"\n"
    write(home, all_lines)
    error = bad_seq(home)
    if version(home) == 1:
        assert error.seq == 3
    else:
        assert (error.seq, error.line) == (1, 1) and "entry 6" in str(error) and "1..5" in str(error)


def test_a_deleted_entry_is_found_where_the_sequence_jumps(home):
    all_lines = lines(home)
    del all_lines[2]
    write(home, all_lines)
    error = bad_seq(home)
    assert error.seq == 4 and "3..3" in str(error)


def test_a_deleted_first_entry_is_found(home):
    write(home, lines(home)[1:])
    assert bad_seq(home).seq == 2


def test_an_inserted_copy_of_a_valid_entry_is_found(home):
    all_lines = lines(home)
    all_lines.insert(4, all_lines[1])
    write(home, all_lines)
    error = bad_seq(home)
    assert error.seq == 2 and error.line == 5


def test_an_inserted_forged_entry_is_found(home):
    all_lines = lines(home)
    prev = entries.decode(all_lines[2].rstrip(b"\n")).hash
    forged = entries.seal(entries.Entry(4, entries.now(), "deleted", "env-2", "intruder",
                                        _public(KEY), prev), Ed25519PrivateKey.generate())
    all_lines.insert(3, forged.encode())
    write(home, all_lines)
    error = bad_seq(home)
    if version(home) == 1:
        assert error.seq == 4 and error.line == 4
    else:   # it claims the trusted key and ends the batch of entries 1..3: the signature check names them all
        assert (error.seq, error.line) == (1, 1) and "entry 4 (line 4)" in str(error) and "1..3" in str(error)


def test_two_swapped_entries_are_found(home):
    all_lines = lines(home)
    all_lines[2], all_lines[3] = all_lines[3], all_lines[2]
    write(home, all_lines)
    error = bad_seq(home)
    assert error.seq == 4 and error.line == 3


def test_whole_entries_cut_from_the_tail_are_found_through_the_head(home):
    write(home, lines(home)[:4])
    error = bad_seq(home)
    assert error.seq == 5 and "5..6" in str(error)


def test_a_tail_cut_in_the_middle_of_a_line_is_found(home):
    data = journal_path(home).read_bytes()
    journal_path(home).write_bytes(data[:-40])
    assert bad_seq(home).seq == 6


def test_a_deleted_head_is_found(home):
    head_path(home).unlink()
    assert "missing" in str(bad_seq(home))


def test_a_whole_rewrite_signed_with_another_key_is_found(home):
    """The attacker edits entry 3 and re-signs it and everything after it, chain and head included."""
    intruder = Ed25519PrivateKey.generate()
    old = [entries.decode(raw.rstrip(b"\n")) for raw in lines(home)]
    new, prev = [], entries.GENESIS
    for line in old:
        entry = line.entry
        if entry.seq < 3:
            new.append(line)
            prev = line.hash
            continue
        details = {"queue_id": "Q9"} if entry.seq == 3 else entry.details
        forged = entries.seal(entries.Entry(entry.seq, entry.time, entry.step, entry.message, entry.actor,
                                            _public(intruder), prev, details), intruder)
        new.append(forged)
        prev = forged.hash
    write(home, [line.encode() for line in new])
    from pli.core.audit.head import write_head
    write_head(home, new[-1].entry.seq, new[-1].hash, _public(intruder), new[-1].entry.time, intruder)

    error = bad_seq(home)
    assert error.seq == 3 and "not allowed" in str(error)


def test_a_rewritten_entry_signed_by_a_trusted_key_is_caught_by_the_head(home):
    """Even a holder of the key cannot swap the last entry without the head noticing."""
    old = [entries.decode(raw.rstrip(b"\n")) for raw in lines(home)]
    last = old[-1].entry
    replaced = entries.seal(entries.Entry(last.seq, last.time, "deleted", last.message, last.actor,
                                          last.signer, last.prev, {}), KEY)
    write(home, [line.encode() for line in old[:-1]] + [replaced.encode()])
    assert bad_seq(home).seq == 6


def test_cli_verify_names_the_first_bad_entry_in_one_line_and_fails(home, capsys):
    all_lines = lines(home)
    all_lines[1] = all_lines[1].replace(b'"sent"', b'"read"')
    write(home, all_lines)

    status = main(["--home", str(home.root), "audit", "verify"])

    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and "entry 2" in err


def test_cli_verify_and_show_on_a_clean_journal(home, capsys):
    assert main(["--home", str(home.root), "audit", "verify"]) == 0
    assert "6 entries" in capsys.readouterr().out
    assert main(["--home", str(home.root), "audit", "show", "env-2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in out] == ["sealed", "sent"]
    assert "queue_id=Q2" in out[1]


def _public(key):
    from pli.core.audit.signers import public_b64
    return public_b64(key.public_key())


def test_the_journal_body_is_canonical_json():
    """The format promise of docs/AUDIT.md: sorted keys, no spaces, ASCII."""
    body = entries.Entry(1, "2025-01-01T00:00:00.000000Z", "read", "env-é", "a", "k", entries.GENESIS,
                         {"reason": "é"}).body()
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    assert body.isascii()


# -- crafted journals and heads: exit 4, never an internal error (exit 70) -----------------------------------------

from hypothesis import assume, given, strategies as st  # noqa: E402

from hostile_json import HOSTILE, with_field  # noqa: E402

ENTRY_FIELDS = ("v", "seq", "time", "step", "message", "actor", "signer", "prev", "details")
HEAD_FIELDS = ("v", "seq", "hash", "signer", "time")


def _verify_status(home) -> int:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        status = main(["--home", str(home.root), "audit", "verify"])
    assert "internal error" not in err.getvalue()
    return status


def _crafted_line(obj: dict, field: str, value: str, domain: bytes, resign) -> bytes:
    """resign: True (signed by the trusted key), False (a signature of zeros), "none" (no signature: an
    entry inside a version 2 batch)."""
    body = with_field(obj, (field,), value, sort_keys=True, separators=(",", ":"))
    signature = b"" if resign == "none" else KEY.sign(domain + body) if resign else b"\0" * 64
    return body + b"\t" + base64.b64encode(signature) + b"\n"


@given(at=st.integers(0, 5), field=st.sampled_from(ENTRY_FIELDS), value=HOSTILE,
       resign=st.sampled_from([True, False, "none"]))
def test_a_crafted_entry_is_exit_4_never_70(tmp_path_factory, at, field, value, resign):
    home = Home(tmp_path_factory.mktemp("t") / "home")
    Journal(home, KEY).record_many([Step("sealed", f"env-{n}") for n in range(6)])
    old = lines(home)
    obj = json.loads(old[at].rsplit(b"\t", 1)[0])
    crafted = _crafted_line(obj, field, value, entries.BATCH_DOMAIN, resign)   # re-signed: it reaches every check
    assume(crafted != old[at])
    old[at] = crafted
    write(home, old)
    assert _verify_status(home) == 4
    try:
        Journal(home, KEY).record("read", "env-1")      # a writer checks the end: refuses a crafted last entry
    except JournalTampered:
        pass
    else:
        assert at < 5, "a writer continued a journal whose end it could not trust"


@given(field=st.sampled_from(HEAD_FIELDS), value=HOSTILE, resign=st.booleans())
def test_a_crafted_head_is_exit_4_never_70(tmp_path_factory, field, value, resign):
    from pli.core.audit.head import HEAD_DOMAIN

    home = Home(tmp_path_factory.mktemp("t") / "home")
    Journal(home, KEY).record_many([Step("sealed", f"env-{n}") for n in range(3)])
    original = head_path(home).read_bytes()
    obj = json.loads(original.rsplit(b"\t", 1)[0])
    crafted = _crafted_line(obj, field, value, HEAD_DOMAIN, resign)
    assume(crafted != original)
    head_path(home).write_bytes(crafted)
    if resign and field == "time" and value.startswith('"'):
        assert _verify_status(home) == 0   # another time, signed by the trusted key: a head like any other
        return
    assert _verify_status(home) == 4
    with pytest.raises(JournalTampered):
        Journal(home, KEY).record("read", "env-1")


@given(journal=st.binary(max_size=400), head=st.binary(max_size=200) | st.none(),
       signers=st.binary(max_size=120) | st.none())
def test_any_bytes_as_journal_head_or_signers_are_exit_4_never_70(tmp_path_factory, journal, head, signers):
    home = Home(tmp_path_factory.mktemp("t") / "home")
    Journal(home, KEY).record("sealed", "env-0")
    journal_path(home).write_bytes(journal)
    if head is not None:
        head_path(home).write_bytes(head)
    if signers is not None:
        (home.trace / "signers").write_bytes(signers)
    assert _verify_status(home) in (0, 4)


@pytest.mark.parametrize("crafted", [
    b'{"actor":"a","details":{},"message":"m","prev":"' + b"0" * 64 + b'","seq":1,"signer":["x"],"step":"sealed",'
    b'"time":"t","v":1}\tAAAA\n',
    b"[" * 100_000 + b"]" * 100_000 + b"\tAAAA\n",
    b'{"seq":' + b"9" * 5000 + b"}\tAAAA\n",
    b'{"actor":"a","details":{},"message":"m","prev":"p","seq":1e400,"signer":"s","step":"x","time":"t","v":1}'
    b"\tAAAA\n",
], ids=["signer-a-list", "nested-100000", "seq-5000-digits", "seq-1e400"])
def test_the_three_named_in_the_issue(home, crafted):
    write(home, [crafted])
    assert _verify_status(home) == 4
    head_path(home).write_bytes(crafted)
    assert _verify_status(home) == 4


def test_a_head_re_signed_as_entry_0_with_the_last_hash_is_found(home):
    """Found by the fuzz above (seq "-0"): a genesis head names no entry, so its hash must be the genesis one."""
    from pli.core.audit.head import write_head

    last = entries.decode(lines(home)[-1].rstrip(b"\n"))
    write_head(home, 0, last.hash, _public(KEY), last.entry.time, KEY)
    assert _verify_status(home) == 4
    with pytest.raises(JournalTampered):
        Journal(home, KEY).record("read", "env-1")


def test_an_older_head_put_back_over_a_cut_journal_is_exit_4(home):
    """Six entries in one batch, then three more batches; the head of the first batch, kept from then, is
    put back over the journal cut after the third: it would have passed for a head lagging after a crash."""
    older = head_path(home).read_bytes()
    journal = Journal(home, KEY, actor="dr.martin@pli.test")
    for n in range(7, 10):
        journal.record("read", f"env-{n}")
    write(home, lines(home)[:8])                          # entries 9 cut
    head_path(home).write_bytes(older)
    assert _verify_status(home) == 4
    with pytest.raises(JournalTampered, match="older head"):
        verify(home)


# -- version 2: one signature per batch --------------------------------------------------------------------------

def _v2(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    Journal(home, KEY, actor="dr.martin@pli.test").record_many(SIX)
    return home


def test_a_batch_is_signed_once_on_its_last_entry(tmp_path):
    home = _v2(tmp_path)
    signatures = [raw.rstrip(b"\n").rsplit(b"\t", 1)[1] for raw in lines(home)]
    assert signatures[:5] == [b""] * 5 and len(base64.b64decode(signatures[5])) == 64
    assert {entries.decode(raw.rstrip(b"\n")).version for raw in lines(home)} == {2}
    assert verify(home).entries == 6


def test_an_entry_edited_inside_a_batch_is_named(tmp_path):
    """Entry 3 has no signature of its own: entry 4's `prev` (covered by the batch's signature) names it."""
    home = _v2(tmp_path)
    all_lines = lines(home)
    all_lines[2] = all_lines[2].replace(b'"env-2"', b'"env-9"')
    write(home, all_lines)
    error = bad_seq(home)
    assert (error.seq, error.line) == (3, 3) and "edited" in str(error)


def test_an_entry_edited_inside_a_batch_with_its_chain_redone_fails_the_batch_signature(tmp_path):
    """Entry 3 edited and every later `prev` recomputed: the chain holds, the one signature does not."""
    home = _v2(tmp_path)
    old = [entries.decode(raw.rstrip(b"\n")) for raw in lines(home)]
    new, prev = old[:2], old[1].hash
    for line in old[2:]:
        e = line.entry
        details = {"queue_id": "Q9"} if e.seq == 3 else e.details
        body = entries.Entry(e.seq, e.time, e.step, e.message, e.actor, e.signer, prev, details).body()
        redone = body + b"\t" + base64.b64encode(line.signature)     # the old signature kept on entry 6
        new.append(entries.decode(redone))
        prev = new[-1].hash
    write(home, [line.encode() for line in new])
    error = bad_seq(home)
    assert (error.seq, error.line) == (1, 1) and "entry 6" in str(error) and "signature" in str(error)


def test_an_entry_inside_a_batch_naming_another_signer_is_found(tmp_path):
    home = _v2(tmp_path)
    other = Ed25519PrivateKey.generate()
    old = [entries.decode(raw.rstrip(b"\n")) for raw in lines(home)]
    new, prev = [], entries.GENESIS
    for line in old:
        e = line.entry
        signer = _public(other) if e.seq == 2 else e.signer
        new.append(entries.seal(entries.Entry(e.seq, e.time, e.step, e.message, e.actor, signer, prev, e.details),
                                KEY if e.seq == 6 else None))
        prev = new[-1].hash
    write(home, [line.encode() for line in new])
    from pli.core.audit.head import write_head
    write_head(home, 6, prev, _public(KEY), new[-1].entry.time, KEY)
    error = bad_seq(home)
    assert (error.seq, error.line) == (2, 2) and "other than the one who signed its batch" in str(error)


def test_entries_added_without_a_signature_after_the_last_batch_are_found(tmp_path):
    home = _v2(tmp_path)
    last = entries.decode(lines(home)[-1].rstrip(b"\n"))
    added = entries.seal(entries.Entry(7, entries.now(), "deleted", "env-1", "intruder", _public(KEY), last.hash))
    write(home, lines(home) + [added.encode()])
    error = bad_seq(home)
    assert (error.seq, error.line) == (7, 7) and "without the signed entry" in str(error)


def test_a_version_1_journal_continued_in_version_2_verifies(tmp_path, capsys):
    home = Home(tmp_path / "home")
    home.trace.mkdir(mode=0o700, parents=True)
    write_v1_journal(home, KEY, [(s.step, s.message_id, s.details) for s in SIX])
    Journal(home, KEY, actor="dr.martin@pli.test").record_many([Step("read", "env-1"), Step("read", "env-2")])
    assert [entries.decode(raw.rstrip(b"\n")).version for raw in lines(home)] == [1] * 6 + [2] * 2
    report = verify(home)
    assert (report.entries, report.last_seq) == (8, 8)
    assert main(["--home", str(home.root), "audit", "show", "env-1"]) == 0
    assert [line.split()[2] for line in capsys.readouterr().out.splitlines()] == ["sealed", "sent", "read"]


def test_the_documented_vector():
    """docs/AUDIT.md's vector: pli's writer gives these exact bytes, and an independent check (hashlib,
    cryptography's Ed25519) finds the chain and the one signature over the batch."""
    import hashlib
    import re
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    doc = (Path(__file__).parents[3] / "docs" / "AUDIT.md").read_text()
    block = doc[doc.index("### Vector"):].split("```")[1]
    first, second = [line.replace("<TAB>", "\t").encode() for line in block.strip().splitlines()]
    hashes = re.findall(r"`([0-9a-f]{64})`", doc[doc.index("### Vector"):doc.index("## The head")])

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    t = "2026-12-03T19:00:00.000000Z"
    a = entries.seal(entries.Entry(1, t, "opened-verified", "env-1", "dr.martin@pli.test", _public(key),
                                   entries.GENESIS, {"mid": "k1@pli.invalid", "mode": "otp"}))
    b = entries.seal(entries.Entry(2, t, "opened-verified", "env-2", "dr.martin@pli.test", _public(key), a.hash,
                                   {"mid": "k2@pli.invalid", "mode": "stream"}), key)
    assert (a.encode(), b.encode()) == (first + b"\n", second + b"\n")

    assert hashes == [hashlib.sha256(first).hexdigest(), hashlib.sha256(second).hexdigest()]
    assert json.loads(second.split(b"\t")[0])["prev"] == hashes[0] and first.endswith(b"\t")
    body, sig = second.rsplit(b"\t", 1)
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(json.loads(body)["signer"]))
    public.verify(base64.b64decode(sig), b"pli-audit-batch-v2\n" + body)   # raises if it does not hold
