"""Hostile envelopes: whatever the bytes, and even signed by a trusted sender, opening raises an OpenError
(a tag-safe reason, exit 4) and nothing else, never reads outside a pad, never returns content it did not check.

Two families: raw bytes (random, spliced into or cut from a genuine envelope), and envelopes a trusted
but malicious sender builds field by field with hypothesis and signs correctly, so that every check after
the signature meets them: modes, timestamps, lanes and offsets, wraps, recipients, lengths.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto_fixtures import inner_message, people
from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import OpenError, open_envelope, open_mail, seal
from pli.core.crypto.pairing import share_pad
from pli.core.crypto.verify import verify_mail
from pli.core.directory.resolve import Trust


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """alice (sender), bob (reader) sharing a pad, and one genuine envelope of each mode."""
    alice, bob = people(tmp_path_factory.mktemp("fuzz"), "alice", "bob")
    pad = share_pad(alice, [bob], 1 << 16)
    otp = seal(inner_message(body="short"), alice, ["bob@pli.test"], mode="otp")
    stream = seal(inner_message(body="short"), alice, ["bob@pli.test"], mode="stream")
    return alice, bob, pad, (otp, stream)


def refused(bob, data: bytes) -> None:
    try:
        open_envelope(data, bob)
    except OpenError as error:
        assert error.reason and "\n" not in str(error)
    else:
        raise AssertionError("a hostile envelope opened")


@given(noise=st.binary(max_size=300), at=st.integers(0, 700), cut=st.integers(0, 700), which=st.integers(0, 1))
def test_random_spliced_or_cut_bytes_are_refused(net, noise, at, cut, which):
    _, bob, _, genuine = net
    env = genuine[which]
    for data in (noise, env[:at] + noise + env[at:], env[:cut], b"PLIE\x01" + noise):
        if data != env:
            refused(bob, data)


ADDRESS = st.one_of(st.just("bob@pli.test"), st.sampled_from(["BOB@pli.test", "carol@pli.test", "", "x" * 300]))


def hostile_or(valid, hostile):
    """Half the time the value a well-formed envelope has, so that later checks are reached too."""
    return st.one_of(st.just(valid), hostile)


def padref(draw, pad_id: bytes, length: int) -> fmt.PadRef:
    return fmt.PadRef(pad_id, draw(hostile_or(0, st.integers(0, 0xFFFF))),
                      draw(st.one_of(st.integers(0, 9000), st.integers(0, 2 ** 64 - 1))),
                      draw(hostile_or(length, st.integers(0, 2 ** 64 - 1))))


@st.composite
def signed_by_alice(draw, net):
    """An envelope alice (trusted by bob) builds by hand, with hostile fields, and signs correctly."""
    alice, _, pad, _ = net
    public = alice.identity.public
    mode = draw(st.sampled_from(["otp", "stream"]))
    pad_id = draw(hostile_or(pad.id, st.just(bytes(16))))
    ciphertext = draw(st.binary(max_size=64))
    header = fmt.Header(mode, draw(st.binary(min_size=16, max_size=16)), draw(st.integers(0, 2 ** 64 - 1)),
                        public.signing_fingerprint, public.id, public.address,
                        draw(st.binary(min_size=12, max_size=12)),
                        padref(draw, pad_id, 32 + len(ciphertext)) if mode == "otp" else None)
    recipients = []
    for _ in range(draw(hostile_or(1, st.integers(0, 4)))):
        wrap = draw(hostile_or(fmt.WRAP_CONTENT_PAD if mode == "otp" else fmt.WRAP_X25519,
                               st.sampled_from([fmt.WRAP_CONTENT_PAD, fmt.WRAP_PAD, fmt.WRAP_X25519])))
        recipients.append(fmt.Recipient(
            draw(ADDRESS), wrap, pad=padref(draw, pad_id, 64) if wrap == fmt.WRAP_PAD else None,
            key_fingerprint=draw(hostile_or(net[1].identity.public.agree_fingerprint, st.just(bytes(16)))),
            ephemeral=draw(st.sampled_from([bytes(32), b"\x01" + bytes(31), bytes(range(32))])),
            wrapped_key=draw(st.binary(min_size=32, max_size=32)), tag=draw(st.binary(min_size=16, max_size=16))))
    signed = fmt.signed_part(header.pack(), recipients, ciphertext, draw(st.binary(min_size=16, max_size=16)))
    signed += draw(hostile_or(b"", st.sampled_from([b"\x00", b"trailing"])))   # trailing bytes, signed too
    return signed + alice.identity.sign(fmt.SIGN_DOMAIN + signed)


@given(data=st.data())
def test_a_trusted_senders_hostile_envelope_is_refused_at_the_right_check(net, data):
    _, bob, _, _ = net
    refused(bob, data.draw(signed_by_alice(net)))


@given(data=st.data())
def test_the_gateways_check_raises_only_open_errors(net, data):
    from pli.core.crypto.mime import outer_mail

    alice, bob, _, _ = net
    envelope = data.draw(signed_by_alice(net) | st.binary(max_size=200))
    mail = outer_mail(envelope, "Dr Alice", "alice@pli.test", ["bob@pli.test"], 0, "0" * 32)
    try:
        verify_mail(mail, Trust.of([alice.identity.public]))      # signature and sender: may pass
    except OpenError as error:
        assert error.reason
    with pytest.raises(OpenError):
        open_mail(mail, bob)


def test_a_signing_time_no_calendar_holds_is_malformed_not_a_crash(net):
    """Found by the fuzz above: a u64 timestamp after the year 9999 made the gateway's check raise ValueError."""
    from pli.core.crypto.mime import outer_mail

    alice, bob, _, (otp, _) = net
    data = bytearray(otp[:-64])
    data[24:32] = (2 ** 64 - 1).to_bytes(8, "big")            # the header's timestamp
    signed = bytes(data) + alice.identity.sign(fmt.SIGN_DOMAIN + bytes(data))
    mail = outer_mail(signed, "Dr Alice", "alice@pli.test", ["bob@pli.test"], 0, "0" * 32)
    for check in (lambda: verify_mail(mail, Trust.of([alice.identity.public])), lambda: open_mail(mail, bob)):
        with pytest.raises(OpenError) as refused:
            check()
        assert refused.value.reason == "malformed"
