"""Where the gateway puts accepted mail: per-mailbox Maildirs on disk, or Dovecot (or any store) over LMTP.

Both return only once the mail is durable: a Maildir file is written in tmp/,
fsync'd, renamed into new/ and the folder fsync'd; an LMTP server has said 250
for the mailbox (it then owns durability).  The file name comes from the
envelope (id + digest), so a client retrying a mail whose 250 it never saw
replaces the same file instead of adding a copy.
"""
from __future__ import annotations

import errno
import os
import smtplib
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.durable import fsync_dir, full_fsync
from pli.core.errors import PliError
from pli.core.transport.gateway_config import Delivery

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DeliveryFailed(PliError):
    """The mail could not be made durable; `no_space` when the disk (or quota) is full."""

    def __init__(self, message: str, no_space: bool = False):
        super().__init__(message)
        self.no_space = no_space


def maildir_name(envelope_id: str, digest: str) -> str:
    return f"{envelope_id}.{digest[:16]}.pli"


@dataclass(frozen=True)
class MaildirDelivery:
    root: Path
    _made: set = field(default_factory=set, compare=False, repr=False)   # folders known to exist

    def folder(self, mailbox: str) -> Path:
        path = Path(mailbox)
        return path if path.is_absolute() else self.root / mailbox

    def deliver(self, mailbox: str, name: str, data: bytes) -> str:
        """Write `data` as new/<name> of the mailbox, durably; returns "maildir"."""
        folder = self.folder(mailbox)
        try:
            self._ensure(folder)
            tmp = folder / "tmp" / f"{name}.{os.getpid()}.{os.urandom(4).hex()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                full_fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, folder / "new" / name)
            fsync_dir(folder / "new")
        except OSError as error:
            _cleanup(locals().get("tmp"))
            self._made.discard(folder)        # a removed mailbox is made again next time
            raise DeliveryFailed(f"cannot write to a mailbox: {error.strerror}",
                                 no_space=error.errno in NO_SPACE) from None
        return "maildir"

    def _ensure(self, folder: Path) -> None:
        """tmp/, new/ and cur/ of a mailbox: created the first time, then remembered (three syscalls a message)."""
        if folder not in self._made:
            for sub in ("tmp", "new", "cur"):
                (folder / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._made.add(folder)


def _cleanup(tmp) -> None:
    if tmp is not None:
        try:
            os.unlink(tmp)
        except OSError:
            pass


@dataclass(frozen=True)
class LmtpDelivery:
    host: str | None = None
    port: int | None = None
    socket: Path | None = None
    timeout: float = 30.0

    def deliver(self, mailbox: str, name: str, data: bytes) -> str:
        """One LMTP transaction per mailbox (so one reply is the mailbox's); returns "lmtp"."""
        try:
            with self._connect() as lmtp:
                refused = lmtp.sendmail("", [mailbox], data)
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailed(f"the mail store answered {error.smtp_code}",
                                 no_space=error.smtp_code == 452) from None
        except smtplib.SMTPRecipientsRefused as error:
            code = next(iter(error.recipients.values()))[0]
            raise DeliveryFailed(f"the mail store refused a mailbox ({code})") from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"cannot reach the mail store ({type(error).__name__})") from None
        if refused:
            raise DeliveryFailed("the mail store refused a mailbox")
        return "lmtp"

    def _connect(self) -> smtplib.LMTP:
        if self.socket is not None:
            return smtplib.LMTP(str(self.socket), timeout=self.timeout)
        return smtplib.LMTP(self.host, self.port, timeout=self.timeout)


def delivery_for(config: Delivery):
    if config.kind == "maildir":
        return MaildirDelivery(config.root)
    return LmtpDelivery(config.host, config.port, config.socket)
