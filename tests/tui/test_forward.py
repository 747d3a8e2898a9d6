"""Forward keeps the attachments (issue 14.3): images, HPRIM files, PDFs, sealed again for the new recipient."""
import email
import email.policy
import io
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from PIL import Image

from pli.core.crypto.envelope import open_mail, seal_mail
from pli.core.crypto.keyring import Keyring
from pli.core.demo import DEMO_PASSPHRASE
from pli.core.mail.drafts import Forwarded
from pli.core.mail.receive import receive
from pli.core.store import Store
from pli.core.transport.outbox import outbox_dir
from pli.tui.screens.compose import ComposeScreen

from conftest import FIXED_NOW
from threads_fixture import ME, peer

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)
COLLEAGUE = "hugo.bernard@cabinet-demo.example"
SUBJECT = "Compte rendu ATTACHTEST"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


#: Generated files (invented patient): what a lab sends with its report.
FILES = {
    "radio.png": ("image", "png", png()),
    "compte-rendu.pdf": ("application", "pdf", b"%PDF-1.4\n% generated for a test\n1 0 obj<<>>endobj\n%%EOF\n"),
    "resultats.hpr": ("application", "octet-stream",
                      "H|^~\\&|||LABO|||||||P|H2.2\rP|1|||ATTACHTEST^Alice\rL|1\r".encode("latin-1")),
}


def deliver_with_attachments(home) -> None:
    lab = peer(home, "lab-stream")
    me = lab.identity.public
    msg = EmailMessage()
    msg["From"] = f"{me.name} <{me.address}>"
    msg["To"] = ME
    msg["Subject"] = SUBJECT
    when = FIXED_NOW - timedelta(minutes=5)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = "<attach-test@bio-collines.example>"
    msg.set_content("Compte rendu et pièces jointes.")
    for name, (maintype, subtype, data) in FILES.items():
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    sealed = seal_mail(msg.as_bytes(), lab, [ME], now=int(when.timestamp()))
    (home.root / "incoming" / "new" / "attach.eml").write_bytes(sealed)
    receive(home, None, keyring=Keyring.unlock(home, DEMO_PASSPHRASE))


async def forward_it(home, app, pilot) -> ComposeScreen:
    """`f` on the lab's message with attachments (delivered before the app reads the store)."""
    await pilot.pause()
    await pilot.press("slash", *"subject:ATTACHTEST", "enter", "f")
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    return app.screen


def attachments_of(raw: bytes) -> dict[str, bytes]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return {part.get_filename(): part.get_payload(decode=True) for part in msg.iter_attachments()}


async def test_a_forward_carries_every_attachment_sealed_for_the_new_recipient(demo, make_app):
    deliver_with_attachments(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await forward_it(demo, app, pilot)
        assert [a.filename for a in screen.draft.attachments] == list(FILES)
        assert all(isinstance(a, Forwarded) for a in screen.draft.attachments)
        shown = str(screen.query_one("#compose-attachments").render())
        assert all(name in shown for name in FILES)
        await pilot.press(*COLLEAGUE, "ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
    (sealed,) = list((outbox_dir(demo) / "new").iterdir())
    raw = sealed.read_bytes()
    assert b"ATTACHTEST" not in raw                       # only the envelope travels
    opened = open_mail(raw, peer(demo, "colleague"))       # the new recipient opens it
    expected = {name: data for name, (_, _, data) in FILES.items()}
    assert attachments_of(opened.inner) == expected
    with Store.open(demo) as store:
        (copy,) = store.window("tag:sent and subject:ATTACHTEST", 0, 5)
        assert attachments_of(store.read_clear(copy.message_id)) == expected


async def test_a_forwarded_attachment_gone_from_the_store_is_a_clear_refusal(demo, make_app):
    deliver_with_attachments(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await forward_it(demo, app, pilot)
        gone = screen.draft.attachments[0]
        screen.draft.attachments[0] = Forwarded("no-such-message@nowhere", 0, gone.filename, gone.content_type, 1)
        await pilot.press(*COLLEAGUE, "ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert any("radio.png is no longer in the store" in n.message for n in app._notifications)
    assert not (outbox_dir(demo) / "new").is_dir() or not list((outbox_dir(demo) / "new").iterdir())
