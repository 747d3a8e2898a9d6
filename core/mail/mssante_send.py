"""Sending to MSSanté addresses through the MSSanté account: documents as an IHE XDM package or a text alone, each
kept in Sent and traced; the submission MDNs go through too.

    documents = documents_of(inner, patient)                                    # its attachments, for XDM
    sender = sender_for(home, keyring)                                          # the author the package names
    sent = send_documents(home, documents, sender, ["dr.b@hopital.mssante.fr"], keyring=keyring)   # an XDM package,
                                                    # submitted, kept in Sent (tagged sent mssante), traced "sent"
    sent = send_text(home, "dr.a@op.mssante.fr", ["dr.b@hopital.mssante.fr"], "Question", "...", keyring=keyring)
    submit(home, account, mss, keyring, mdn, [to])  # any mail through the account (an MDN: mssante_mdn.py)

MSSanté mail is submitted at once, never queued (docs/MSSANTE.md, "Send").
"""
from __future__ import annotations

import os
import re
import smtplib

from pli.core import vocab as v
from pli.core.audit import home_journal
from pli.core.errors import PliError, UsageError
from pli.core.home import Home
from pli.core.receipts.mssante import envelope_id, normal_id
from pli.core.store.store import SentFacts, Store
from pli.core.transport.accounts import Account, AccountError, load_accounts
from pli.core.transport.mssante_account import credentials, load_mss_accounts, open_smtp
from pli.core.transport.outbox import queue_key
from pli.core.transport.submission import crlf
from pli.core.xdm.compose import OutgoingDocument, PatientIdentity, Sender, cda_document, file_document
from pli.core.xdm.mail import document_mail, text_mail
from pli.core.xdm.metadata import Code
from pli.core.xdm.received import TIER

def send_documents(home: Home, documents: list[OutgoingDocument], sender: Sender, recipients: list[str], *,
                   account: str | None = None, keyring=None, body: str = "", receipt: bool = True) -> str:
    """Send documents about one patient (a PDF, a CDA) to MSSanté addresses as an IHE XDM package
    (document_mail), submitted through the MSSanté account (`account`, else the only one), kept in Sent
    (send_kept); its Message-ID.  XdmRefused before anything is sent when the documents cannot go in one package."""
    name = account_name(home, account)
    mail = document_mail(documents, sender, recipients, body=body, receipt=receipt)
    return send_kept(home, name, mail, recipients, keyring)


def send_text(home: Home, sender: str, recipients: list[str], subject: str, body: str, *,
              account: str | None = None, keyring=None, receipt: bool = True) -> str:
    """Send a plain-text mail to MSSanté addresses (text_mail: ordinary MIME, nothing packaged), through the
    MSSanté account, kept in Sent (send_kept); its Message-ID."""
    name = account_name(home, account)
    return send_kept(home, name, text_mail(sender, recipients, subject, body, receipt=receipt), recipients, keyring)


def send_kept(home: Home, account: str, mail, recipients: list[str], keyring=None) -> str:
    """Submit an MSSanté mail through `account` (asking for DSNs when the operator offers them), trace "sent"
    (via mssante, the operator's server), then keep its copy in Sent (Store.add_sent_unsealed: tagged `sent
    mssante`, never verified, its Message-ID kept for the MDNs and DSNs that name it).  With no keyring there is
    no trace to sign: only the copy is kept.

    A trace that was cut is refused before anything is submitted, as for sealed mail; a copy that cannot be
    kept after the operator took the mail is said in the error (the mail is gone: sending again duplicates it)."""
    accounts = load_accounts(home)
    mss = load_mss_accounts(home, accounts)
    journal = home_journal(home, keyring) if keyring is not None else None
    if journal is not None:
        journal.check()
    submit(home, accounts[account], mss[account], keyring, mail, recipients, "the mail", dsn=True)
    message_id = str(mail["Message-ID"])
    if journal is not None:    # what happened first: the operator took it
        trace_step(journal, "sent", message_id, via=TIER, server=str(mss[account].smtp), recipients=list(recipients))
    raw = mail.as_bytes()      # LF line ends, as the store keeps mail; the operator got these bytes in CRLF
    if (home.mail / ".notmuch").is_dir():
        facts = SentFacts(sender=mss[account].address, mode=TIER, envelope_id="", recipients=tuple(recipients),
                          tags=(v.MSSANTE,))
        try:
            with Store.open(home, writable=True) as store:
                store.add_sent_unsealed(queue_key(raw), raw, facts)
        except (PliError, OSError) as error:
            reason = error.message if isinstance(error, PliError) else (error.strerror or type(error).__name__)
            raise SentNotKept(f"{message_id} was sent to {', '.join(recipients)}, but its copy could not be kept "
                              f"in Sent ({reason}): do not send it again; `pli doctor` checks the store") from None
    return message_id


class SentNotKept(PliError):
    """The operator took an MSSanté mail, but its Sent copy could not be written: the mail is not to be sent again."""


def account_name(home: Home, account: str | None) -> str:
    """The MSSanté account to send through: `account`, else the home's only one; AccountError otherwise."""
    mss = load_mss_accounts(home)
    name = account or (next(iter(mss)) if len(mss) == 1 else "")
    if name not in mss:
        raise AccountError(f"{'no MSSanté account ' + repr(name) if name else 'no single MSSanté account'} in "
                           f"{home.config}: mark one account `mssante = true` or name it (docs/MSSANTE.md)")
    return name


def trace_step(journal, step: str, message_id: str, **details) -> None:
    """A trace step named by a mail's Message-ID (without <>, as `pli fetch` traces MSSanté mail)."""
    journal.record(step, normal_id(message_id), **details)


def submit(home: Home, account: Account, mss, keyring, mail, recipients: list[str], what: str = "the MDN",
            dsn: bool = False) -> None:
    """Submit `mail`; with `dsn`, asks the operator, when it offers DSN (RFC 3461), for a report of failures and
    delays naming the mail by its Message-ID (ENVID), with its headers only (RET=HDRS)."""
    smtp = open_smtp(mss, credentials(home, account, mss, "smtp", keyring))
    try:
        options = dsn and smtp.has_extn("dsn")
        smtp.sendmail(mss.address, recipients, crlf(mail.as_bytes()),
                      [f"ENVID={envelope_id(str(mail['Message-ID']))}", "RET=HDRS"] if options else (),
                      ["NOTIFY=FAILURE,DELAY"] if options else ())
    except (OSError, smtplib.SMTPException) as error:
        raise MdnNotSent(f"{mss.smtp} did not take {what} to {', '.join(recipients)}: {_reason(error)}") from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass


class MdnNotSent(PliError):
    """The operator did not take an MDN (or a mail): `pli fetch` tries the MDN again."""

    exit_code = 75


def _reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode('utf-8', 'replace') if isinstance(error.smtp_error, bytes) else error.smtp_error}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "the recipient was refused"
    return getattr(error, "strerror", None) or type(error).__name__


#: A document's type when the sender names none (LOINC 11488-4, "Consult note"; the CI-SIS type codes are LOINC).
CONSULT_NOTE = Code("11488-4", "2.16.840.1.113883.6.1", "Note de consultation")
_DOCUMENT_TYPES = ("application/pdf", "text/xml", "application/xml", "text/x-hprim", "application/hl7-v2",
                   "text/plain", "image/jpeg", "image/png")


def documents_of(inner, patient: PatientIdentity | None, type_code: Code = CONSULT_NOTE) -> list[OutgoingDocument]:
    """The attachments of a message written for pli, as the documents of an XDM package: a CDA describes itself
    (its patient, type and title from its header); any other document needs the patient the sender names."""
    documents = []
    for part in inner.iter_attachments():
        # the bytes as attached: get_content() decodes a text/xml part by its charset (none: ASCII, each other
        # byte replaced), which changed the CDA, its patient's name and its hash
        data, mime = part.get_payload(decode=True) or b"", part.get_content_type()
        if mime not in _DOCUMENT_TYPES:
            raise UsageError(f"the attachment {part.get_filename() or mime} ({mime}) is not a document an MSSanté "
                             f"package carries ({', '.join(_DOCUMENT_TYPES)})")
        if mime in ("text/xml", "application/xml"):
            documents.append(cda_document(data))
            continue
        if patient is None:
            raise UsageError(f"the attachment {part.get_filename() or mime} needs the patient it is about: "
                             "give --patient (and --ins when known)")
        title = os.path.splitext(part.get_filename() or "")[0] or str(inner.get("Subject", "")) or "Document"
        documents.append(file_document(data, mime, title, type_code, patient))
    if not documents:
        raise UsageError("mail to an MSSanté address carries documents (a PDF, a CDA, an HPRIM file): this message "
                         "has no attachment")
    return documents


def sender_for(home: Home, keyring, account: str | None = None) -> Sender:
    """The author the package names: the MSSanté account's address, the keyring's RPPS and name."""
    mss = load_mss_accounts(home)
    name = account if account in mss else (next(iter(mss)) if len(mss) == 1 else "")
    me = keyring.identity.public
    family, _, given = (me.name or "").removeprefix("Dr ").rpartition(" ")
    return Sender(address=mss[name].address if name else me.address,
                  rpps=me.id if re.fullmatch(r"\d{11}", me.id or "") else "",
                  family=family or given, given=given if family else "")
