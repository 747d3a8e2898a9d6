"""The message view's save and open keys on attachments whose names a sender made hostile (NUL, path
separators): a private file under a plain name in the folder asked for, or one clear line; never a crash."""
from __future__ import annotations

import os
import stat
import sys

import pytest

from pli.core.mail.read import read_message
from pli.tui.screens.message import AttachmentList, MessageScreen

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)

#: (file name as the sender wrote it, in a MIME header, as it is saved)
NAMES = [
    ("filename*=utf-8''r%C3%A9sultat%00.pdf", "résultat.pdf"),
    ('filename="../../../.profile"', "profile"),
    ('filename="C:\\\\Users\\\\lab\\\\bilan.pdf"', "bilan.pdf"),
    ("filename*=utf-8''%2Fetc%2Fcron.d%2Fx", "x"),
]


def mail_with(disposition_name: str) -> bytes:
    return ("From: Laboratoire <lab@pli.test>\nTo: dr.martin@pli.test\nSubject: Bilan\n"
            "Message-ID: <bilan-1@pli.test>\nX-Pli-Verified: yes\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nCi-joint.\n'
            f"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; {disposition_name}\n"
            "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJeLjz9MK\n--b--\n").encode()


async def shown(app, pilot, raw: bytes) -> MessageScreen:
    await pilot.pause()
    summary = app.screen.query_one("MessageList").summary_at(0)
    screen = MessageScreen(summary, read_message(raw))
    app.push_screen(screen)
    await pilot.pause()
    screen.query_one(AttachmentList).focus()
    await pilot.pause()
    return screen


def said(app) -> str:
    return "\n".join(n.message for n in app._notifications)


@pytest.mark.parametrize("header,saved", NAMES)
async def test_save_writes_a_plain_private_name_in_the_folder(demo, make_app, tmp_path, monkeypatch,
                                                             header, saved):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Downloads").mkdir()
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await shown(app, pilot, mail_with(header))
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)          # still there: no crash
        path = tmp_path / "Downloads" / saved
        assert path.read_bytes().startswith(b"%PDF"), said(app)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert os.listdir(tmp_path / "Downloads") == [saved]
        assert f"saved {path}" in said(app)


@pytest.mark.parametrize("header,saved", NAMES)
async def test_open_hands_the_viewer_a_plain_name(demo, make_app, tmp_path, monkeypatch, header, saved):
    seen = tmp_path / "seen"
    viewer = tmp_path / "viewer"
    viewer.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    viewer.chmod(0o700)
    monkeypatch.setattr("pli.tui.attachments.system_viewer", lambda: str(viewer))   # a desktop's xdg-open
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await shown(app, pilot, mail_with(header))
        await pilot.press("o")
        for _ in range(50):
            await pilot.pause(0.05)
            if seen.exists() and seen.read_text():
                break
        assert isinstance(app.screen, MessageScreen), said(app)
        assert os.path.basename(seen.read_text()) == saved, said(app)
