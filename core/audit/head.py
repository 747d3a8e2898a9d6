"""The journal's head: the signed (seq, hash) of its last entry, so that a removed tail shows.

    trace/journal.head   one line, HBODY TAB HSIG LF (docs/AUDIT.md, "The head")

Writers replace it after each batch and check the journal's end against it
before they append (journal.py); `verify` checks it after the entries
(verify.py).  Reading it is the same strict parse for both: whatever its
bytes, a trusted Head, or the one line saying what is wrong with it.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from pli.core.audit import entry as entries
from pli.core.audit.signers import TrustedKeys
from pli.core.durable import write_atomic
from pli.core.home import Home

HEAD_DOMAIN = b"pli-audit-head-v1\n"
HEAD_VERSION = 1   # unchanged by the entries' version 2
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    signer: str


def head_path(home: Home):
    return home.trace / "journal.head"


def write_head(home: Home, seq: int, hash: str, signer_b64: str, time: str, signer) -> None:
    """Replace the head: (seq, hash) of the last entry written, signed by `signer` (its private key)."""
    body = entries.canonical({"v": HEAD_VERSION, "seq": seq, "hash": hash, "signer": signer_b64, "time": time})
    write_atomic(head_path(home), body + b"\t" + base64.b64encode(signer.sign(HEAD_DOMAIN + body)) + b"\n")


def read_head(home: Home, keys: TrustedKeys) -> tuple[Head | None, str | None]:
    """(the head, None) if it is there and signed by a trusted key; (None, None) if there is none;
    (None, what is wrong with it) otherwise."""
    try:
        raw = head_path(home).read_bytes()
    except FileNotFoundError:
        return None, None
    body, _tab, sig64 = raw.rstrip(b"\n").rpartition(b"\t")
    head = _parse(body)
    try:
        signature = base64.b64decode(sig64, validate=True)
    except (binascii.Error, ValueError):
        signature = None
    if head is None or signature is None:
        return None, f"{head_path(home)} is unreadable: it was edited"
    problem = keys.check(head.signer, signature, HEAD_DOMAIN + body)
    if problem:
        return None, f"the journal head {problem}"
    return head, None


def _parse(body: bytes) -> Head | None:
    """The head's fields with their exact types (a list as signer, a float as seq: None), never an exception."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    seq, hash, signer = obj.get("seq"), obj.get("hash"), obj.get("signer")
    if obj.get("v") != HEAD_VERSION or type(obj.get("v")) is not int or not isinstance(obj.get("time"), str):
        return None
    if type(seq) is not int or seq < 0 or not isinstance(hash, str) or not isinstance(signer, str):
        return None
    if not _HASH.fullmatch(hash):
        return None
    return Head(seq, hash, signer)
