"""The trace: a signed, hash-chained, append-only journal of every step of every message.

    journal = Journal(home, signing_key, actor="dr.martin@example.org")
    journal.record("sent", envelope_id, queue_id="4XyZ1", server="smtp.example.org")
    journal.record_many([Step("fetched", eid) for eid in batch])   # one fsync per batch
    steps_of(home, envelope_id)          # what happened to one message
    verify(home)                         # raises JournalTampered naming the first bad entry
"""
from pli.core.audit.entry import STEPS, AuditMisuse, Entry, JournalTampered
from pli.core.audit.journal import Journal, Step, home_journal, steps_of
from pli.core.audit.signers import UnauthorizedSigner, authorize_signer, load_signers
from pli.core.audit.verify import VerifyReport, verify

__all__ = ["STEPS", "AuditMisuse", "Entry", "Journal", "JournalTampered", "Step", "UnauthorizedSigner",
           "VerifyReport", "authorize_signer", "home_journal", "load_signers", "steps_of", "verify"]
