"""A pad reuse in the demo home (generated): the lab loses its pad ledger and seals on bytes it already used."""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.ledger import Ledger
from pli.core.demo import DEMO_PASSPHRASE
from pli.core.mail.receive import receive

from conftest import FIXED_NOW
from threads_fixture import ME, peer


def note(sender, subject: str, minutes_ago: int) -> bytes:
    me = sender.identity.public
    msg = EmailMessage()
    msg["From"] = f"{me.name} <{me.address}>"
    msg["To"] = ME
    msg["Subject"] = subject
    msg["Date"] = format_datetime(FIXED_NOW - timedelta(minutes=minutes_ago))
    msg.set_content("Résultats en pièce jointe.")
    return msg.as_bytes()


def deliver_a_pad_reuse(home, tag: str = "") -> None:
    """The lab loses its pad ledger and seals again on the bytes it already used (otp)."""
    lab = peer(home, "lab-otp")
    lab.ledger.path.unlink()
    lab.ledger = Ledger(lab.ledger.path)
    sealed = seal_mail(note(lab, f"Résultats REUSE{tag}", 3), lab, [ME], mode="otp")
    (home.root / "incoming" / "new" / f"reuse{tag}.eml").write_bytes(sealed)
    report = receive(home, None, keyring=Keyring.unlock(home, DEMO_PASSPHRASE))
    assert report.quarantined["replay"] == 1
