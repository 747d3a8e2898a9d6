"""Why a sealed message was refused: one typed error per opening check, each with a tag-safe `.reason`.

The checks run in this order (docs/FORMAT.md, "Opening"): malformed,
unsupported-version, unknown-sender (and revoked-key), bad-signature,
not-for-me, replay, bad-mac.  Opening raises nothing but these, whatever the bytes.  Messages
name the problem, never plaintext, key or pad bytes.
"""
from __future__ import annotations

from pli.core.errors import PliError


class OpenError(PliError):
    """A sealed message that cannot be trusted or read; `reason` is a short token for tags and the trace."""

    reason = "refused"
    exit_code = 4


class NotSealed(OpenError):
    """Plain mail: there is no pli envelope in it."""

    reason = "unsealed"


class Malformed(OpenError):
    reason = "malformed"


class UnsupportedVersion(OpenError):
    reason = "unsupported-version"


class UnknownSender(OpenError):
    reason = "unknown-sender"


class BadSignature(OpenError):
    reason = "bad-signature"


class RevokedSender(OpenError):
    """The directory revoked the signing key for the envelope's signing time (pli.core.directory.resolve)."""

    reason = "revoked-key"

    def __init__(self, message: str, revoked=None, why: str = ""):
        super().__init__(message)
        self.revoked = revoked          # when the key was revoked (a datetime), if known
        self.revocation_reason = why    # superseded | compromised | retired


class NotForMe(OpenError):
    reason = "not-for-me"


class ReplayAlert(OpenError):
    """Pad bytes seen before in a different message: a replay, or a sender who reused pad bytes."""

    reason = "replay"
    exit_code = 6

    def __init__(self, message: str, sender: str = "", pad_id: str = ""):
        super().__init__(message)
        self.sender = sender
        self.pad_id = pad_id


class BadMac(OpenError):
    reason = "bad-mac"


REASONS = tuple(c.reason for c in (Malformed, UnsupportedVersion, UnknownSender, RevokedSender, BadSignature,
                                   NotForMe, ReplayAlert, BadMac))
