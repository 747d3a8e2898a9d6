"""The verification badge: every refusal the store records reads as a sentence, never as a bare token."""
import pytest

from pli.core.crypto import refusals
from pli.tui.reading import Verification
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
