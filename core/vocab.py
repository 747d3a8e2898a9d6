"""pli's one vocabulary: the tags, severities, notmuch property names and search shortcuts, defined once.

The store writes these names, the CLI and the TUI search and show them, users type
them in queries and scripts: a name changes here or nowhere.  docs/STORE.md lists
the tags for users.
"""
from __future__ import annotations

# -- tags: where a message is ---------------------------------------------------
INBOX = "inbox"
SENT = "sent"
OUTBOX = "outbox"                    # sealed, waiting for a server to take it
QUARANTINE = "quarantine"
DELETED = "deleted"                  # notmuch's convention: a message tagged deleted is gone for the user

# -- tags: what the reader did ---------------------------------------------------
UNREAD = "unread"
FLAGGED = "flagged"
REPLIED = "replied"
ACKNOWLEDGED = "acknowledged"        # a security alert the user has seen

# -- tags: what the importer found -----------------------------------------------
VERIFIED = "verified"                # signed by the sender the directory names
SEALED = "sealed"
UNSEALED = "unsealed"
KEY_REVOKED = "key-revoked"          # verified with a key revoked since: shown with a warning
NOTE = "note"                        # a short note between two correspondents (core/mail/conversation.py)
LAB = "lab"
CRITICAL = "critical"
ABNORMAL = "abnormal"
LAB_UNREADABLE = "lab-unreadable"    # a lab report is there but could not be read: kept, shown raw
LAB_INCOMPLETE = "lab-incomplete"    # a lab report read only in part (Report.incomplete): shown with its text
PATIENT_UNCERTAIN = "patient-uncertain"   # results the file ties to no patient for sure
SUPERSEDED = "superseded"            # a later report of the same lab order replaces this one
SUPERSEDES = "supersedes"            # this report replaces an earlier one of its order
PATIENT_PREFIX = "patient:"          # patient:<key>, one per patient a lab report names

# -- tags: the MSSanté tier (docs/MSSANTE.md) --------------------------------------
MSSANTE = "mssante"                  # fetched from an MSSanté account: transport-secured, never `verified`
XDM_REFUSED = "xdm-refused"          # an IHE_XDM.ZIP pli would not open (unsafe or incomplete): kept as received
MDN_DUE = "mdn-due"                  # the sender asked for an RFC 8098 MDN, not sent yet
MDN_CONFIRM = "mdn-confirm"          # the MDN waits for the user's consent (the address is not the Return-Path)
MDN_SENT = "mdn-sent"                # the MDN was submitted through the MSSanté account
MDN_DECLINED = "mdn-declined"        # the user declined the MDN asked for: never asked again
REPORT = "report"                    # an MDN or DSN about mail sent through an MSSanté account
REPORT_DUE = "report-due"            # ... not yet matched with its Sent copy
REPORT_UNMATCHED = "report-unmatched"   # ... about no mail of this store's Sent: kept in the inbox, said once

# -- tags: receipts (docs/RECEIPTS.md) -------------------------------------------
RECEIPT = "receipt"
RECEIPT_REQUEST = "receipt-request"  # the sender asked for a receipt
RECEIPT_DUE = "receipt-due"          # a receipt still to send, or still to match with its original
RECEIPT_REFUSED = "receipt-refused"
RECEIPT_SENT_PREFIX = "receipt-sent:"   # receipt-sent:<kind>, once that receipt is queued
DELIVERED = "delivered"              # on a message we sent: every recipient's delivery receipt came back
READ = "read"                        # on a message we sent: every recipient's read receipt came back

# -- severities of a lab result or report, most severe first ----------------------
SEVERITIES = (CRITICAL, ABNORMAL, "unknown", "normal")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
NOTABLE = (CRITICAL, ABNORMAL)       # the severities that tag a message `abnormal`


def worst_severity(severities) -> str:
    """The most severe of these names ("normal" when there are none)."""
    return min(severities, key=lambda s: SEVERITY_RANK.get(s, len(SEVERITIES)), default="normal")


# -- notmuch message properties (every property costs index time at import) --------
PROPERTY_PREFIX = "pli."
PATIENT_PROPERTY = "pli.patient"     # the patient as displayed ("DUPONT Marie", "2 patients")
LAB_PROPERTY = "pli.lab"             # Report.summary() of the lab payload (with later corrections)
ORDER_PROPERTY = "pli.order"         # one per lab order the message answers (core.lab.corrections.order_key)
MODE_PROPERTY = "pli.mode"           # "otp" | "stream"
REASON_PROPERTY = "pli.reason"       # why the message is in quarantine
KEY_PROPERTY = "pli.key"             # the clear file's key in the store
VERIFIED_PROPERTY = "pli.verified"
SENDER_PROPERTY = "pli.sender"
ACCOUNT_PROPERTY = "pli.account"     # the MSSanté account a message was fetched from (its MDN goes back through it)

# -- search shortcuts: a bare word that means the tag (core/store/query.py) --------
SHORTCUT_TAGS = frozenset({
    ABNORMAL, CRITICAL, UNREAD, LAB, QUARANTINE, INBOX, VERIFIED, SEALED, UNSEALED, FLAGGED, SENT, REPLIED,
    MSSANTE,
})
#: What the search bar offers to complete, the most asked first: shortcuts, then notmuch's own prefixes.
SEARCH_SUGGESTIONS = (CRITICAL, ABNORMAL, UNREAD, LAB, QUARANTINE, PATIENT_PREFIX, "tag:", "from:",
                      "subject:", "date:", "and", "or", "not")
