"""The drafts folder: what compose holds, saved as you type, listed, reopened, removed once sent.

    HOME/drafts/<id>.json      one draft: recipients, subject, body, attachments, receipts asked

A draft holds patient data: each file is written atomically (a crash leaves
the previous save or the new one, never half) with mode 0600, in a folder
only the user can enter.  It is kept in clear, like the store's clear copies
of the mail it will become (docs/STORE.md).  A forwarded attachment is kept as
a reference to the stored message (pli.core.mail.drafts.Forwarded), never copied.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pli.core.durable import write_atomic
from pli.core.errors import PliError
from pli.core.mail.drafts import Draft, Forwarded

FORMAT = 1


class DraftUnsaved(PliError):
    """A draft could not be written (disk full, no permission)."""


@dataclass(frozen=True)
class SavedDraft:
    """A draft in the folder, as the drafts list shows it."""

    draft: Draft
    saved: float        # when it was last saved (seconds since the epoch)


def drafts_dir(home) -> Path:
    return home.root / "drafts"


def new_id() -> str:
    """A name that sorts by creation and never collides (two composes opened in the same second)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"


def save(home, draft: Draft) -> None:
    """Write the draft (giving it an id the first time), atomically, readable by the user only."""
    if not draft.id:
        draft.id = new_id()
    folder = drafts_dir(home)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(folder / f"{draft.id}.json", json.dumps(_to_json(draft), ensure_ascii=False).encode())
    except OSError as error:
        raise DraftUnsaved(f"the draft could not be saved in {folder} ({error.strerror or error}); "
                           "keep compose open and free some space, or copy the text") from None


def remove(home, draft: Draft) -> None:
    if draft.id:
        try:
            (drafts_dir(home) / f"{draft.id}.json").unlink()
        except FileNotFoundError:
            pass


def saved_drafts(home) -> list[SavedDraft]:
    """Every draft in the folder, last saved first; a file that cannot be read is skipped here and
    named by `unreadable`."""
    found = []
    for path in _files(home):
        try:
            found.append(SavedDraft(_from_json(json.loads(path.read_bytes())), path.stat().st_mtime))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda d: d.saved, reverse=True)


def unreadable(home) -> list[Path]:
    """Draft files that cannot be read back (damaged): the drafts list names them, never hides them."""
    bad = []
    for path in _files(home):
        try:
            _from_json(json.loads(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):
            bad.append(path)
    return bad


def _files(home) -> list[Path]:
    folder = drafts_dir(home)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _to_json(draft: Draft) -> dict:
    return {
        "format": FORMAT, "id": draft.id, "to": draft.to, "subject": draft.subject, "body": draft.body,
        "in_reply_to": draft.in_reply_to,
        "receipts": list(draft.receipts) if draft.receipts is not None else None,
        "attachments": [{"message_id": a.message_id, "index": a.index, "filename": a.filename,
                         "content_type": a.content_type, "size": a.size} if isinstance(a, Forwarded)
                        else {"path": os.fspath(a)} for a in draft.attachments],
    }


def _from_json(data: dict) -> Draft:
    if data.get("format") != FORMAT:
        raise ValueError("unknown draft format")
    attachments = [Path(a["path"]) if "path" in a else
                   Forwarded(str(a["message_id"]), int(a["index"]), str(a["filename"]), str(a["content_type"]),
                             int(a["size"])) for a in data["attachments"]]
    receipts = data.get("receipts")
    return Draft([str(t) for t in data["to"]], str(data["subject"]), str(data["body"]), attachments,
                 str(data.get("in_reply_to", "")), str(data["id"]),
                 tuple(str(r) for r in receipts) if receipts is not None else None)
