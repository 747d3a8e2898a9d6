"""A pad reuse (generated): a sender whose pad ledger was lost seals a second message on the same bytes."""
from __future__ import annotations

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.ledger import Ledger


def reused_pad(alice) -> tuple[bytes, bytes]:
    """Two messages on the same pad bytes: a sender whose ledger was lost."""
    first = seal_mail(b"Subject: one\nMessage-ID: <one@pli.test>\n\nfirst\n", alice, ["bob@pli.test"], mode="otp")
    alice.ledger.path.unlink()
    alice.ledger = Ledger(alice.ledger.path)
    second = seal_mail(b"Subject: two\nMessage-ID: <two@pli.test>\n\nsecond\n", alice, ["bob@pli.test"], mode="otp")
    return first, second
