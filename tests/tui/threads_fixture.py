"""A thread in the demo home: a lab's report, its corrected report and a colleague's reply (generated).

Each message is sealed by the demo's own peers (their homes under peers/) and
imported as `pli new` does; the replies name the report's Message-ID in
In-Reply-To and References, as the lab's and the colleague's software write them.
"""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.keyring import Keyring
from pli.core.demo import DEMO_PASSPHRASE
from pli.core.home import Home
from pli.core.mail.receive import receive
from pli.tui.widgets.message_list import MessageList

from conftest import FIXED_NOW

ME = "claire.martin@cabinet-demo.example"
REPORT_ID = "thread-report@labo-demo.example"
SUBJECT = "Résultats THREADTEST Alice"


def peer(home: Home, name: str) -> Keyring:
    return Keyring.unlock(Home(home.root / "peers" / name), DEMO_PASSPHRASE)


def mail(keyring: Keyring, subject: str, body: str, minutes_ago: int, message_id: str,
         answers: str = "", cc: str = "") -> tuple[bytes, int]:
    me = keyring.identity.public
    msg = EmailMessage()
    msg["From"] = f"{me.name} <{me.address}>"
    msg["To"] = ME
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    when = FIXED_NOW - timedelta(minutes=minutes_ago)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{message_id}>"
    if answers:
        msg["In-Reply-To"] = f"<{answers}>"
        msg["References"] = f"<{answers}>"
    msg.set_content(body)
    return msg.as_bytes(), int(when.timestamp())


def add_thread(home: Home) -> None:
    """Deliver and import the three messages (newest of the inbox: the thread is its first row)."""
    lab, colleague = peer(home, "lab-otp"), peer(home, "colleague")
    messages = [
        (lab, mail(lab, SUBJECT, "Kaliémie 6,8 mmol/L.", 30, REPORT_ID)),
        (lab, mail(lab, SUBJECT + " (corrigé)", "Kaliémie 4,1 mmol/L (hémolyse).", 20,
                   "thread-corrected@labo-demo.example", answers=REPORT_ID)),
        (colleague, mail(colleague, "Re: " + SUBJECT, "Vu, je rappelle la patiente.", 10,
                         "thread-reply@cabinet-demo.example", answers=REPORT_ID,
                         cc="secretariat@cabinet-tilleuls.example")),
    ]
    incoming = home.root / "incoming" / "new"
    for number, (sender, (inner, when)) in enumerate(messages):
        (incoming / f"thread-{number}.eml").write_bytes(seal_mail(inner, sender, [ME], now=when))
    receive(home, None, keyring=Keyring.unlock(home, DEMO_PASSPHRASE))


async def as_threads(app, pilot) -> MessageList:
    """The main screen's list as threads (V), its first page read."""
    await pilot.pause()
    await pilot.press("V")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen.query_one(MessageList)
