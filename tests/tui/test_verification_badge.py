"""The verification badge: every refusal the store records reads as a sentence, never as a bare token."""
import pytest

from pli.core.crypto import refusals
from pli.core.mail.read import Verification
from pli.tui.widgets.verification_badge import REASONS, badge_text

RECORDED = sorted({cls.reason for cls in vars(refusals).values()
                   if isinstance(cls, type) and isinstance(getattr(cls, "reason", None), str)} - {"refused"}
                  | {"revoked-key", "wrong-signer", "not-a-recipient", "unknown-original", "envelope-mismatch",
                     "malformed-receipt"})


@pytest.mark.parametrize("reason", RECORDED)
def test_each_refusal_is_explained_and_says_not_to_trust(reason):
    assert reason in REASONS
    text = badge_text(Verification(verified=False, reason=reason)).plain
    assert text.startswith("✗ NOT VERIFIED: ") and REASONS[reason] in text
    assert "Do not trust" in text


def test_a_verified_badge_names_signer_key_and_mode():
    text = badge_text(Verification(True, "Dr B <b@x.example>", "10003", "ab" * 16, "otp")).plain
    assert text == f"✓ Signed by Dr B <b@x.example> · id 10003 · key {'ab' * 16} · sealed otp"


# -- a key revoked in the directory: the badge says it, whenever the revocation was published ----------------

@pytest.mark.asyncio
@pytest.mark.parametrize("revoked, reason, verified", [
    ("2020-01-01", "superseded", False),   # revoked before the colleague's notes were signed
    ("2020-01-01", "compromised", False),
    ("2031-01-01", "superseded", True),    # revoked after: shown as theirs, with a warning
])
async def test_a_message_whose_key_the_directory_revoked_since_shows_it(demo, make_app, revoked, reason, verified):
    from datetime import datetime, timezone

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from pli.core.crypto.keyring import public_view
    from pli.core.directory import DirectoryEntry, PublicKey, import_directory, set_trust_anchor
    from pli.core.directory.signed import sign_directory
    from pli.core.home import Home
    from pli.tui.screens.message import MessageScreen
    from pli.tui.widgets.verification_badge import VerificationBadge

    colleague = public_view(Home(demo.root / "peers" / "colleague"))[0]
    key = PublicKey("ed25519", colleague.sign_public)
    entry = DirectoryEntry(id=colleague.id, kind="person", name=colleague.name, addresses=(colleague.address,))
    entry = entry.with_key(key, datetime(2019, 1, 1, tzinfo=timezone.utc)).with_revocation(
        key.fingerprint, datetime.fromisoformat(revoked).replace(tzinfo=timezone.utc), reason)
    authority = Ed25519PrivateKey.generate()
    set_trust_anchor(demo, PublicKey("ed25519", authority.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))
    import_directory(demo, sign_directory([entry], authority, 1))   # published after the notes were stored
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *f"from:{colleague.address}", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        badge = app.screen.query_one(VerificationBadge)
        text = str(badge.render())
    assert badge.has_class("-verified") is verified and badge.has_class("-failed") is not verified
    assert f"revoked on {revoked}" in text
    if verified:
        assert badge.has_class("-warning") and "WARNING" in text
    else:
        assert "NOT VERIFIED" in text and "revoked" in text
