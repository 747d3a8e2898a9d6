"""Lab mail added to a copy of the demo home: sealed by the demo's second lab, imported as `pli new` does."""
from __future__ import annotations

import sys
from pathlib import Path

from pli.core.home import Home

sys.path.insert(0, str(Path(__file__).parent.parent / "core" / "lab"))   # the bodies of the core tests
import mail_bodies  # noqa: E402,F401  (re-exported for the TUI tests)


CORPUS = Path(__file__).parent.parent / "fixtures" / "lab-wild"


def deliver(home: Home, inners: list[bytes], times: list[int] | None = None) -> None:
    """Seal each inner message from the demo lab to the demo doctor (at `times`, unix seconds, when
    given), and import them."""
    from pli.core.crypto.envelope import seal_mail
    from pli.core.crypto.keyring import Keyring
    from pli.core.demo import DEMO_PASSPHRASE
    from pli.core.mail.receive import receive

    lab = Keyring.unlock(Home(home.root / "peers" / "lab-stream"), DEMO_PASSPHRASE)
    doctor = Keyring.unlock(home, DEMO_PASSPHRASE)
    incoming = home.root / "incoming" / "new"
    for number, inner in enumerate(inners):
        when = times[number] if times else None
        (incoming / f"lab-mail-{number}").write_bytes(seal_mail(inner, lab, [doctor.identity.public.address],
                                                                now=when))
    report = receive(home, None, keyring=doctor, workers=1)
    assert report.imported == len(inners), report.render()
