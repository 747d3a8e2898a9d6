"""`pli init` for the store: Maildirs, the notmuch config and database, the [store] config section."""
from __future__ import annotations

import os
from dataclasses import dataclass

from pli.core.home import Home
from pli.core.store import database
from pli.core.store.config import ensure_store_section
from pli.core.store.layout import FOLDERS, Layout, make_maildir, notmuch_config_text, write_private


@dataclass(frozen=True)
class Created:
    layout: Layout
    new: bool  # False: the store was already there (init is safe to rerun)


def create_store(home: Home, name: str = "", address: str = "") -> Created:
    """Create the store of a home, or complete a partly created one; never touches stored mail."""
    layout = Layout(home)
    existed = layout.exists()
    home.root.mkdir(parents=True, exist_ok=True)
    os.chmod(home.root, 0o700)
    for folder in FOLDERS:
        make_maildir(layout.folder(folder))
    make_maildir(layout.incoming)
    (layout.sealed / ".tmp").mkdir(mode=0o700, parents=True, exist_ok=True)
    if not layout.notmuch_config.exists():
        write_private(layout.notmuch_config, notmuch_config_text(layout, name, address))
    if not layout.index.is_dir():
        database.create(layout)
    for private in (layout.mail, layout.index):   # clear messages, and an index holding their words
        os.chmod(private, 0o700)
    ensure_store_section(home.config)
    return Created(layout, new=not existed)
