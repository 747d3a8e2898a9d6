"""Check a home's whole trace: every signature, the sequence, the hash chain and the head.

The first problem found stops the check and is raised as `JournalTampered`,
naming the first bad entry by its sequence number (and its line), in one line
the person at the keyboard can act on.
"""
from __future__ import annotations

import fcntl
from dataclasses import dataclass

from pli.core.audit import entry as entries
from pli.core.audit.entry import GENESIS, JournalTampered, MalformedEntry
from pli.core.audit.head import Head, head_path, read_head
from pli.core.audit.journal import journal_path, locked
from pli.core.audit.signers import TrustedKeys, load_signers, signers_path
from pli.core.home import Home


@dataclass(frozen=True)
class VerifyReport:
    """What a clean check covered."""

    entries: int
    last_seq: int
    signers: frozenset[str]  # base64 keys that actually signed entries


def verify(home: Home, trusted: set[str] | None = None) -> VerifyReport:
    """Check the journal against `trusted` keys (default: trace/signers); raise JournalTampered."""
    keys = TrustedKeys(load_signers(home) if trusted is None else set(trusted))
    if not journal_path(home).exists():
        if head_path(home).exists():
            raise JournalTampered(f"{journal_path(home)} is missing but its head exists: the journal was deleted")
        return VerifyReport(0, 0, frozenset())
    if not keys.trusted:
        raise JournalTampered(f"{signers_path(home)} is missing or empty: no key is trusted to have signed this "
                              "trace; restore it, or name the key with `pli audit verify --key KEYFILE`")
    with locked(home, fcntl.LOCK_SH):
        # A bad head is reported after the entries: the first bad *entry* is the more useful news.
        head, head_problem = read_head(home, keys)
        report, unsealed, sealed_after_head = _walk(home, keys, head)
        if head_problem:
            raise JournalTampered(head_problem, report.last_seq + 1)
        _check_end(home, head, report.last_seq, sealed_after_head)
        if unsealed:   # after the head's check: entries cut from the end are the more precise news
            (first, line, _), (last, last_line, _) = unsealed[0], unsealed[-1]
            raise JournalTampered(f"trace entries {first}..{last} (lines {line}..{last_line}) end the journal "
                                  "without the signed entry that seals their batch: a write cut by a crash (the "
                                  "next write to the trace sets them aside) or entries added", first, line)
        return report


def _walk(home: Home, keys: TrustedKeys, head: Head | None) -> tuple[VerifyReport, list, int]:
    """What a check of every line found, the entries at the end that no signature seals, and how many
    signed lines come after the head's entry."""
    seq, prev, count, used, after_head = 0, GENESIS, 0, set(), 0
    batch: list[tuple[int, int, str]] = []   # (seq, line, signer) of the entries the next signature seals
    with open(journal_path(home), "rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"trace entry {seq + 1} (line {number})"
            if not raw.endswith(b"\n"):
                raise JournalTampered(f"{where} is cut short: the journal was truncated "
                                      "(or a write was interrupted by a crash)", seq + 1, number)
            line = _decode(raw[:-1], where, seq + 1, number)
            entry = line.entry
            if line.sealed:
                _check_seal(keys, line, number, batch)
            if entry.seq > seq + 1:
                raise JournalTampered(f"trace entry {entry.seq} (line {number}) comes after entry {seq}: "
                                      f"entries {seq + 1}..{entry.seq - 1} were deleted or moved", entry.seq, number)
            if entry.seq < seq + 1:
                raise JournalTampered(f"trace entry {entry.seq} (line {number}) appears after entry {seq}: "
                                      "an entry was inserted, repeated or moved here", entry.seq, number)
            if entry.prev != prev:
                _broken_chain(entry.seq, number, batch)
            if head is not None and entry.seq == head.seq and line.hash != head.hash:
                raise JournalTampered(f"trace entry {entry.seq} (line {number}) is not the one the journal "
                                      "head recorded: the journal was rewritten", entry.seq, number)
            seq, prev, count = entry.seq, line.hash, count + 1
            if line.sealed:
                used.add(entry.signer)
                batch = []
                after_head += head is not None and entry.seq > head.seq
            else:
                batch.append((entry.seq, number, entry.signer))
    return VerifyReport(count, seq, frozenset(used)), batch, after_head


def _check_seal(keys: TrustedKeys, line, number: int, batch: list[tuple[int, int, str]]) -> None:
    """A signed line: its signature holds, and the unsigned entries it seals name the same signer."""
    entry = line.entry
    problem = keys.check(entry.signer, line.signature, line.signed_data())
    trusted = isinstance(entry.signer, str) and entry.signer in keys.trusted
    if problem and batch and trusted:   # a trusted key's signature that fails: it or an entry it seals was edited
        first, first_line, _ = batch[0]
        raise JournalTampered(f"trace entry {entry.seq} (line {number}) {problem}, or one of the entries its "
                              f"signature seals, {first}..{entry.seq - 1} (from line {first_line})",
                              first, first_line)
    if problem:
        raise JournalTampered(f"trace entry {entry.seq} (line {number}) {problem}", entry.seq, number)
    for seq, at, signer in batch:
        if signer != entry.signer:
            raise JournalTampered(f"trace entry {seq} (line {at}) names a signer ({str(signer)[:64]}) other than "
                                  f"the one who signed its batch: forged", seq, at)


def _broken_chain(seq: int, number: int, batch: list[tuple[int, int, str]]) -> None:
    """Entry `seq` does not quote the previous line's hash.  After a signed line, the entry itself was
    replaced or inserted; after an unsigned one (inside a batch), that one was edited (or the `prev`
    quoting it): the batch's one signature cannot tell which, the chain can tell where."""
    if batch and batch[-1][0] == seq - 1:
        before, at, _ = batch[-1]
        raise JournalTampered(f"trace entry {before} (line {at}) was edited: entry {seq} (line {number}) of "
                              f"the same signed batch quotes another hash for it (or its own `prev` was edited)",
                              before, at)
    raise JournalTampered(f"trace entry {seq} (line {number}) does not chain to the entry "
                          "before it: an entry was replaced or inserted", seq, number)


def _decode(raw: bytes, where: str, seq: int, number: int):
    try:
        return entries.decode(raw)
    except MalformedEntry as error:
        raise JournalTampered(f"{where} is unreadable ({error}): it was edited", seq, number) from None


def _check_end(home: Home, head: Head | None, last: int, sealed_after_head: int) -> None:
    if head is None:
        if last:
            raise JournalTampered(f"{head_path(home)} is missing: the end of the journal cannot be checked "
                                  "(deleted?)", last)
        return
    if head.seq > last:
        raise JournalTampered(f"the journal ends at entry {last} but its head records entry {head.seq}: "
                              f"entries {last + 1}..{head.seq} were removed (truncated)", last + 1)
    if head.seq == 0 and head.hash != GENESIS:   # entries compare with the head at its seq: 0 names none
        raise JournalTampered(f"{head_path(home)} records entry 0 with a hash that is not the genesis one: "
                              "it was edited", 1)
    if sealed_after_head > 1:   # a crash leaves the head one batch behind at most (docs/AUDIT.md, "Writing")
        raise JournalTampered(f"{head_path(home)} records entry {head.seq}, {sealed_after_head} signed batches "
                              "before the journal's end: an older head was put back (the entries after it may "
                              "have been cut)", head.seq + 1)
