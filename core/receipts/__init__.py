"""Receipts: signed, sealed acknowledgements of delivery and of reading, asked for by a sender.

    kinds = kinds_to_ask(home, option)               # an option, else the [receipts] ask setting
    inner = ask(inner, kinds)                        # before seal_mail: the request travels sealed
    record_request(journal, envelope_id, kinds, mid) # trace "receipt-requested" once sealed
    after_import(home, keyring)                      # the import's pass: answer requests, check receipts
    after_read(home, keyring, message_id)            # the TUI opened a message: its read receipt, if due
    acknowledgements(layout, message_id)             # who acknowledged a sent message, and when

docs/RECEIPTS.md tells the whole story; docs/FORMAT.md has the receipt's bytes.
Names are loaded on first use: the store's workers import only receipts.message.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "KINDS": "message", "REQUEST_HEADER": "message", "BadReceipt": "message", "Receipt": "message",
    "ask": "message", "import_tags": "message", "parse_kinds": "message", "kinds_option": "message",
    "ReceiptsReport": "passes", "after_import": "passes", "after_read": "passes",
    "Acknowledgement": "received", "acknowledgements": "received",
    "record_request": "request", "kinds_to_ask": "request",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
