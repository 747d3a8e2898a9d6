"""preview(): what compose shows before sending is what seal() then does, and it reserves no pad byte."""
import pytest

from crypto_fixtures import inner_message, people
from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import preview, seal_mail
from pli.core.crypto.envelope_format import WRAP_CONTENT_PAD, WRAP_PAD, WRAP_X25519
from pli.core.crypto.keyring import UnknownRecipient
from pli.core.crypto.mime import extract_envelope
from pli.core.crypto.pairing import share_pad

WRAP_NAMES = {WRAP_CONTENT_PAD: "content-pad", WRAP_PAD: "pad", WRAP_X25519: "x25519"}


@pytest.fixture
def trio(tmp_path):
    return people(tmp_path, "alice", "bob", "carol")


def sealed_plan(sealed: bytes) -> tuple[str, tuple]:
    envelope = fmt.parse(extract_envelope(sealed))
    return envelope.header.mode, tuple((r.address, WRAP_NAMES[r.wrap]) for r in envelope.recipients)


@pytest.mark.parametrize("to", [["bob@pli.test"], ["carol@pli.test"], ["bob@pli.test", "carol@pli.test"]])
def test_the_preview_is_what_sealing_does(trio, to):
    alice, bob, _ = trio
    pad = share_pad(alice, [bob], 8192)
    lane = pad.lane_of("alice@pli.test")
    left = alice.ledger.left(pad, lane)
    shown = preview(alice, to, size=len(inner_message()) + 600)
    assert alice.ledger.left(pad, lane) == left        # previewing reserved nothing
    assert (shown.mode, shown.wraps) == sealed_plan(seal_mail(inner_message(), alice, to))


def test_a_message_larger_than_the_pad_left_is_previewed_as_stream(trio):
    alice, bob, _ = trio
    share_pad(alice, [bob], 4096)
    assert preview(alice, ["bob@pli.test"], size=100).mode == "otp"
    shown = preview(alice, ["bob@pli.test"], size=10_000)
    assert (shown.mode, shown.wraps) == ("stream", (("bob@pli.test", "pad"),))


def test_an_unknown_recipient_cannot_be_previewed(trio):
    with pytest.raises(UnknownRecipient):
        preview(trio[0], ["nobody@pli.test"])
