"""The store: clear messages in Maildirs under a notmuch index, sealed originals kept, batch import.

    Store.open(home)            read (count, window, read_clear) and tag
    create_store(home)          what `pli init` does for the store
    import_paths / import_new   the batch importer (pli import, pli new)
    query.expand(q)             pli's search shortcuts
"""
from pli.core.store.create import create_store
from pli.core.store.database import StoreBusy
from pli.core.store.layout import Layout, StoreMissing
from pli.core.store.store import BadQuery, MessageNotFound, Store
from pli.core.store.summary import MessageSummary

__all__ = ["Store", "MessageSummary", "StoreMissing", "StoreBusy", "MessageNotFound", "BadQuery",
           "Layout", "create_store"]
