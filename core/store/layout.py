"""Where the store keeps things inside a pli home, and how `pli init` creates them.

    home/
      config.toml        pli's config ([store] section written here; others add theirs)
      notmuch-config     a notmuch config over mail/ (NOTMUCH_CONFIG=... notmuch search ...)
      mail/              the notmuch mail root: only clear messages live here
        inbox/ sent/ quarantine/ outbox/   Maildirs (cur/ new/ tmp/)
        .notmuch/        the Xapian index
      incoming/          a Maildir: where a gateway, mbsync or fetch drops sealed mail; `pli new` drains it
      sealed/ab/<key>    the sealed original of every stored message, as received
      store.lock         held by the one import running (`pli import`, `pli new`)
      index.lock         held while the index is open read-write (a batch, a tag change)

Sealed mail never lives under mail/: a plain `notmuch new` (or alot, neomutt)
sees only clear messages, each once, and never indexes the ciphertext.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from pli.core.durable import write_atomic
from pli.core.errors import ConfigError
from pli.core.home import Home

#: Maildir folders under the mail root; each clear message lands in one of them.
FOLDERS = ("inbox", "sent", "quarantine", "outbox")
SUBDIRS = ("cur", "new", "tmp")


class StoreMissing(ConfigError):
    """The home has no store (yet)."""


@dataclass(frozen=True)
class Layout:
    """The store's paths for one home."""

    home: Home

    @property
    def mail(self) -> Path:
        return self.home.mail

    @functools.cached_property
    def mail_dir(self) -> str:
        """The mail root as a str: the import builds a few paths per message from it, without Path objects."""
        return str(self.home.mail)

    def folder(self, name: str) -> Path:
        return self.mail / name

    @property
    def incoming(self) -> Path:
        return self.home.root / "incoming"

    @property
    def sealed(self) -> Path:
        return self.home.root / "sealed"

    @functools.cached_property
    def sealed_dir(self) -> str:
        """sealed as a str, for the paths the import builds per message (built once: a Path join and its
        str cost ~4 us, twice per message)."""
        return str(self.home.root / "sealed")

    def sealed_path(self, key: str) -> Path:
        return self.sealed / key[:2] / key

    @property
    def notmuch_config(self) -> Path:
        return self.home.root / "notmuch-config"

    @property
    def index(self) -> Path:
        return self.mail / ".notmuch"

    @property
    def lock(self) -> Path:
        """Held for a whole import run: one importer at a time."""
        return self.home.root / "store.lock"

    @property
    def pending_trace(self) -> Path:
        """The import's trace steps between an index commit and the journal (store/pending_trace.py)."""
        return self.home.root / "trace-pending"

    @property
    def index_lock(self) -> Path:
        """Held while the index is open read-write (one batch, one tag change)."""
        return self.home.root / "index.lock"

    def exists(self) -> bool:
        return self.index.is_dir() and self.notmuch_config.is_file()

    def require(self) -> None:
        if not self.exists():
            raise StoreMissing(f"no store at {self.home.root}: run `pli init` (or `pli --home DIR init`)")


def make_maildir(path: Path) -> None:
    for sub in SUBDIRS:
        (path / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def notmuch_config_text(layout: Layout, name: str = "", address: str = "") -> str:
    """The INI config notmuch, alot and neomutt read (NOTMUCH_CONFIG points here)."""
    return f"""\
# Written by `pli init`.  Use with: NOTMUCH_CONFIG={layout.notmuch_config} notmuch search ...
[database]
path={layout.mail}

[user]
name={name}
primary_email={address}

[new]
# What `notmuch new` adds to clear mail dropped into a folder by hand; pli tags its own imports.
tags=inbox;unread;
ignore=

[search]
exclude_tags=deleted;spam;

[maildir]
# pli keeps file names stable (deterministic, used for crash recovery); tags are the state.
synchronize_flags=false

[index]
# Lets `Patient:dupont` find a message by the patient named in its protected headers.
header.Patient=X-Pli-Patient
"""


def write_private(path: Path, text: str) -> None:
    """Replace a small config file atomically, mode 0600."""
    write_atomic(path, text.encode("utf-8"), mode=0o600)
