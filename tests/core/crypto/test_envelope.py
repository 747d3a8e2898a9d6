"""Sealing and opening: every mode with one and many recipients, groups, proxies, and every refusal."""
import email
import email.policy
from email.message import EmailMessage

import pytest

from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import (BadMac, BadSignature, Malformed, NotForMe, NotSealed, OpenError,
                                      OtpImpossible, ReplayAlert, SeenRanges, UnknownSender, UnsupportedVersion,
                                      choose_mode, open_envelope, open_mail, open_mails, seal, seal_mail)
from pli.core.crypto.keyring import UnknownRecipient
from pli.core.crypto.ledger import Ledger
from pli.core.crypto.mime import extract_envelope, is_sealed
from pli.core.crypto.pads import PadExhausted
from pli.core.crypto.pairing import introduce, share_group, share_pad

from crypto_fixtures import inner_message, make_keyring, people


@pytest.fixture
def trio(tmp_path):
    return people(tmp_path, "alice", "bob", "carol")


def wraps(sealed_mail: bytes) -> list[int]:
    return [r.wrap for r in fmt.parse(extract_envelope(sealed_mail)).recipients]


# -- round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 4096, 100_000])
def test_otp_round_trip_one_recipient(trio, size):
    alice, bob, _ = trio
    share_pad(alice, [bob], 1 << 20)
    inner = inner_message(body="x" * size)
    sealed = seal_mail(inner, alice, ["bob@pli.test"])
    opened = open_mail(sealed, bob)
    assert opened.inner == inner and opened.mode == "otp"
    assert (opened.sender_address, opened.sender_name, opened.sender_id) == ("alice@pli.test", "Dr Alice", "10000000001")
    assert opened.fingerprint == alice.identity.public.fingerprint
    assert opened.recipients == ("bob@pli.test",)
    assert opened.pad_ranges[0].length == 32 + len(inner)


def test_otp_to_many_recipients_uses_a_pad_they_all_hold(trio):
    alice, bob, carol = trio
    share_pad(alice, [bob], 1 << 16)
    share_pad(alice, [bob, carol], 1 << 16)
    sealed = seal_mail(inner_message(), alice, ["bob@pli.test", "carol@pli.test"])
    assert wraps(sealed) == [fmt.WRAP_CONTENT_PAD] * 2
    for reader in (bob, carol):
        assert open_mail(sealed, reader).mode == "otp"


def test_otp_prefers_the_pair_pad_for_one_recipient(trio):
    alice, bob, carol = trio
    group_pad = share_pad(alice, [bob, carol], 1 << 16)
    pair_pad = share_pad(alice, [bob], 1 << 16)
    opened = open_mail(seal_mail(inner_message(), alice, ["bob@pli.test"]), bob)
    assert opened.pad_ranges[0].pad_id == pair_pad.hex != group_pad.hex


@pytest.mark.parametrize("pads", ["none", "bob", "both"])
def test_stream_round_trip_many_recipients(trio, pads):
    alice, bob, carol = trio
    if pads in ("bob", "both"):
        share_pad(alice, [bob], 1 << 14)
    if pads == "both":
        share_pad(alice, [carol], 1 << 14)
    inner = inner_message()
    sealed = seal_mail(inner, alice, ["bob@pli.test", "carol@pli.test"], mode="stream")
    expected = {"none": [2, 2], "bob": [1, 2], "both": [1, 1]}[pads]
    assert wraps(sealed) == expected     # pad-wrapped key where a pad is shared, else X25519
    for reader in (bob, carol):
        opened = open_mail(sealed, reader)
        assert opened.inner == inner and opened.mode == "stream"


def test_default_mode_is_otp_where_a_pad_is_shared_else_stream(trio):
    alice, bob, carol = trio
    assert choose_mode(alice, "bob@pli.test") == "stream"
    share_pad(alice, [bob], 8192)
    assert choose_mode(alice, "bob@pli.test") == "otp"
    assert choose_mode(alice, "carol@pli.test") == "stream"
    # bob and carol share no pad with alice together: one envelope, stream, bob's key wrapped with pad bytes
    sealed = seal_mail(inner_message(), alice, ["bob@pli.test", "carol@pli.test"])
    assert open_mail(sealed, carol).mode == "stream" and wraps(sealed) == [1, 2]
    with pytest.raises(UnknownRecipient):
        choose_mode(alice, "nobody@pli.test")


def test_a_group_reads_mail_to_its_address_and_members_sign_as_themselves(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    share_group(bob, [carol], "cab-1", "cabinet@pli.test", "Cabinet des Tilleuls")
    introduce(alice, bob, carol)
    for mode in ("stream", None):
        if mode is None:
            share_pad(alice, [bob, carol], 1 << 14, holders=["cabinet@pli.test"])
        sealed = seal_mail(inner_message(), alice, ["cabinet@pli.test"], mode=mode)
        for member in (bob, carol):
            opened = open_mail(sealed, member)
            assert opened.recipients == ("cabinet@pli.test",) and opened.mode == (mode or "otp")
    reply = open_mail(seal_mail(inner_message("re"), carol, ["alice@pli.test"]), alice)
    assert reply.sender_address == "carol@pli.test"     # the trace says who did what


def test_a_proxy_opens_mail_for_the_practitioners_it_serves(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    hospital = make_keyring(tmp_path, "hospital", 2, kind="proxy", serves=("dr.x@pli.test", "dr.y@pli.test"))
    introduce(alice, hospital)
    sealed = seal_mail(inner_message(), alice, ["dr.x@pli.test", "dr.y@pli.test"])
    opened = open_mail(sealed, hospital)
    assert opened.recipients == ("dr.x@pli.test", "dr.y@pli.test") and opened.mode == "stream"
    share_pad(alice, [hospital], 1 << 14)
    assert open_mail(seal_mail(inner_message(), alice, ["dr.x@pli.test"]), hospital).mode == "otp"


def test_attachments_and_protected_headers_travel_inside(trio):
    alice, bob, _ = trio
    inner = EmailMessage()
    inner["Subject"] = "Potassium 6.8 for DUPONT Marie"
    inner["X-Patient"] = "DUPONT Marie 1956-02-03"
    inner.set_content("See the scan.")
    inner.add_attachment(bytes(range(256)) * 10, maintype="application", subtype="pdf", filename="letter.pdf")
    sealed = seal_mail(inner, alice, ["bob@pli.test"])
    outer = email.message_from_bytes(sealed, policy=email.policy.default)
    assert outer["Subject"] == "Sealed message"
    assert b"DUPONT" not in sealed and b"Potassium" not in sealed and b"letter.pdf" not in sealed
    assert is_sealed(sealed) and not is_sealed(inner_message())
    got = email.message_from_bytes(open_mail(sealed, bob).inner, policy=email.policy.default)
    assert got["Subject"] == "Potassium 6.8 for DUPONT Marie" and got["From"] and got["Message-ID"]
    attachment = next(got.iter_attachments())
    assert attachment.get_filename() == "letter.pdf" and attachment.get_content() == bytes(range(256)) * 10


def test_batch_open_matches_one_by_one(trio):
    alice, bob, carol = trio
    share_pad(alice, [bob], 1 << 16)
    mails = [seal_mail(inner_message(body=f"m{i}"), alice, ["bob@pli.test"], mode=m)
             for i, m in enumerate(["otp", "stream", None, "otp"])]
    mails.append(seal_mail(inner_message(), alice, ["carol@pli.test"]))  # not for bob
    mails.append(inner_message())                                       # unsealed
    bad = bytearray(extract_envelope(mails[0]))
    bad[-70] ^= 1                                                       # breaks the signature
    results = open_mails(mails + [bytes(bad)], bob)
    for mail, result in zip(mails[:4], results):
        assert result == open_mail(mail, bob)
    assert [type(r) for r in results[4:]] == [NotForMe, NotSealed, NotSealed]


# -- sending limits ---------------------------------------------------------------------------------


def test_forced_otp_without_a_shared_pad_fails_clearly(trio):
    alice, _, _ = trio
    with pytest.raises(OtpImpossible, match="pli pad new"):
        seal_mail(inner_message(), alice, ["bob@pli.test"], mode="otp")


def test_an_exhausted_pad_falls_back_to_stream_by_default_and_fails_when_forced(trio):
    alice, bob, _ = trio
    pad = share_pad(alice, [bob], 8192)                 # lane of 4096 bytes
    inner = inner_message(body="y" * 3000)
    assert open_mail(seal_mail(inner, alice, ["bob@pli.test"]), bob).mode == "otp"
    with pytest.raises(PadExhausted):
        seal_mail(inner, alice, ["bob@pli.test"], mode="otp")
    assert open_mail(seal_mail(inner, alice, ["bob@pli.test"]), bob).mode == "stream"
    assert alice.ledger.left(pad, 0) < 32 + len(inner)


def test_unknown_recipient_is_refused_before_any_pad_byte_is_reserved(trio):
    alice, bob, _ = trio
    share_pad(alice, [bob], 8192)
    with pytest.raises(UnknownRecipient):
        seal_mail(inner_message(), alice, ["bob@pli.test", "nobody@pli.test"])
    assert alice.ledger.reservations() == []


# -- refusals ---------------------------------------------------------------------------------------


def resign(keyring, envelope: bytes, edit) -> bytes:
    """The envelope with `edit` applied to its signed part, signed again by `keyring` (a sender's own fault)."""
    signed = edit(bytearray(envelope[:-64]))
    return bytes(signed) + keyring.identity.sign(fmt.SIGN_DOMAIN + bytes(signed))


def test_refusals_each_have_their_reason(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    stranger = make_keyring(tmp_path, "mallory", 9)
    introduce(stranger, bob)
    bob.reload()
    share_pad(alice, [bob], 1 << 14)
    env = seal(inner_message(), alice, ["bob@pli.test"])

    def refused(data, keyring=bob):
        with pytest.raises(OpenError) as error:
            open_envelope(data, keyring)
        return error.value.reason

    assert refused(env[:3]) == "malformed"
    assert refused(env[:4] + b"\x02" + env[5:]) == "unsupported-version"
    assert refused(env[:40]) == "malformed"
    assert refused(env + b"\0") == "malformed"
    impostor = make_keyring(tmp_path / "other", "alice", 1)        # alice's address, another key
    impostor.import_public(bob.identity.public)
    assert refused(seal(b"x", impostor, ["bob@pli.test"])) == "unknown-sender"
    assert refused(env[:-1] + bytes([env[-1] ^ 1])) == "bad-signature"
    assert refused(env, carol) == "not-for-me"
    last_ct_byte = len(env) - 64 - 16 - 1
    assert refused(resign(alice, env, lambda b: b.__setitem__(last_ct_byte, b[last_ct_byte] ^ 1) or b)) == "bad-mac"
    stream = seal(inner_message(), alice, ["carol@pli.test", "bob@pli.test"], mode="stream")
    wrapped_tag = len(stream) - 64 - 16 - 8 - len(inner_message()) - 1   # last byte of bob's wrap tag
    assert refused(resign(alice, stream, lambda b: b.__setitem__(wrapped_tag, b[wrapped_tag] ^ 1) or b)) == "bad-mac"


def test_a_sender_may_not_use_a_lane_that_is_not_hers(trio):
    alice, bob, _ = trio
    pad = share_pad(alice, [bob], 1 << 14)
    env = seal(inner_message(), alice, ["bob@pli.test"])
    header = fmt.parse(env).header
    lane_at = len(header.pack()) - 18                               # the content pad ref's lane field
    forged = resign(alice, env, lambda b: b.__setitem__(lane_at + 1, 1) or b)
    with pytest.raises(Malformed, match="not the sender's lane"):
        open_envelope(forged, bob)
    assert pad.lane_of("alice@pli.test") == 0


def test_flipping_any_byte_of_a_sealed_message_is_refused(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    share_pad(alice, [bob], 1 << 16)
    envelopes = [seal(inner_message(body="short"), alice, ["bob@pli.test"]),
                 seal(inner_message(body="short"), alice, ["bob@pli.test", "carol@pli.test"], mode="stream"),
                 seal(inner_message(body="short"), alice, ["carol@pli.test", "bob@pli.test"], mode="stream")]
    reasons = set()
    for env in envelopes:
        for at in range(len(env)):
            for flip in (0x01, 0x80):
                data = bytearray(env)
                data[at] ^= flip
                with pytest.raises(OpenError) as error:
                    open_envelope(bytes(data), bob)
                reasons.add(error.value.reason)
        for cut in range(len(env)):
            with pytest.raises(OpenError):
                open_envelope(env[:cut], bob)
    assert reasons <= {"malformed", "unsupported-version", "unknown-sender", "bad-signature", "not-for-me"}
    assert {"malformed", "bad-signature", "unknown-sender"} <= reasons


def test_broken_outer_mail_is_refused_not_crashed(trio):
    alice, bob, _ = trio
    sealed = seal_mail(inner_message(), alice, ["bob@pli.test"])
    body_at = sealed.index(b"\n\n", sealed.index(b"Content-Transfer-Encoding: base64")) + 10
    for mangled in [sealed[:body_at] + b"!!!" + sealed[body_at + 3:], sealed[:body_at], b"", b"\xff" * 100]:
        with pytest.raises(OpenError):
            open_mail(mangled, bob)


# -- replay -----------------------------------------------------------------------------------------


def test_reused_pad_bytes_raise_a_security_alert_naming_sender_and_pad(trio):
    alice, bob, _ = trio
    pad = share_pad(alice, [bob], 1 << 14)
    seen = SeenRanges(bob.home)
    first = open_mail(seal_mail(inner_message(body="first"), alice, ["bob@pli.test"]), bob)
    seen.check_and_record(first)
    seen.check_and_record(first)                      # the very same message again: no alert
    alice.ledger.path.unlink()                        # a sender whose ledger was lost reuses her pad bytes
    alice.ledger = Ledger(alice.ledger.path)
    second = open_mail(seal_mail(inner_message(body="second"), alice, ["bob@pli.test"]), bob)
    with pytest.raises(ReplayAlert) as alert:
        SeenRanges(bob.home).check_and_record(second)     # a fresh reader: the record was durable
    assert alert.value.reason == "replay" and alert.value.sender == "alice@pli.test"
    assert alert.value.pad_id == pad.hex and pad.hex in str(alert.value) and "alice@pli.test" in str(alert.value)
    results = SeenRanges(bob.home).check_and_record_many([first, second])
    assert results[0] is None and isinstance(results[1], ReplayAlert)
