"""The verification badge: who signed a message and how it was sealed, or why it failed its checks."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pli.core.mail.read import Verification

REASONS = {
    "malformed": "the sealed envelope is damaged",
    "unsupported-version": "the envelope uses a version pli does not know",
    "unknown-sender": "the sender is not in your directory",
    "bad-signature": "the signature does not match the sender's key",
    "not-for-me": "the message is not addressed to your identity",
    "replay": "these pad bytes were seen before (replay or pad reuse)",
    "bad-mac": "the content was altered after sealing",
    "unsealed": "the message was not sealed (plain mail)",
    "revoked-key": "it is signed with a key the directory has revoked",
    # A receipt that does not hold up (docs/RECEIPTS.md):
    "wrong-signer": "this receipt is not signed by the recipient it names",
    "not-a-recipient": "this receipt comes from someone the message was not sent to",
    "unknown-original": "this receipt is for a message that is not in Sent",
    "envelope-mismatch": "this receipt names another envelope than the sent message's",
    "malformed-receipt": "this receipt is damaged",
}


TIER_BADGES = {"mssante": "MSSanté: transport-secured, not end-to-end signed"}


def badge_text(check: Verification) -> Text:
    if check.tier in TIER_BADGES and not check.verified:
        # its own tier: neither pli's signature nor a failed check; the sender is what the operator carried
        text = Text(f"◆ {TIER_BADGES[check.tier]}", style="bold")
        if check.signer:
            text.append(f" · from {check.signer} (not checked by pli)")
        return text
    if not check.verified:
        reason = REASONS.get(check.reason, check.reason or "no valid signature recorded")
        text = Text("✗ NOT VERIFIED", style="bold")
        text.append(f": {reason}. ")
        text.append("Do not trust its sender or content.")
        if check.warning:
            text.append(f"\n{check.warning}")
        return text
    text = Text("✓ Signed by ", style="bold")
    text.append(check.signer or "unknown signer", style="bold")
    details = [f"id {check.signer_id}" if check.signer_id else "",
               f"key {check.fingerprint}" if check.fingerprint else "",
               f"sealed {check.mode}" if check.mode else ""]
    for detail in filter(None, details):
        text.append(f" · {detail}")
    if check.warning:
        text.append("\n⚠ WARNING: ", style="bold")
        text.append(check.warning)
    return text


class VerificationBadge(Static):
    """Green with the signer's details when verified; red with the reason, no trusted styling, when not;
    MSSanté mail (transport-secured) in a colour of its own, never the verified one."""

    def show(self, check: Verification) -> None:
        tier = bool(check.tier) and not check.verified
        self.set_class(check.verified, "-verified")
        self.set_class(tier, "-tier")
        self.set_class(not check.verified and not tier, "-failed")
        self.set_class(check.verified and bool(check.warning), "-warning")
        self.update(badge_text(check))
