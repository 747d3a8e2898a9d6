"""MSSanté receipts: answering a received mail's Disposition-Notification-To, and matching MDNs and DSNs to sent mail.

    answer = mdn_answer(raw, "dr.b@hopital.mssante.fr", problems=received.problems)   # None: none asked
    if answer and (not answer.needs_confirmation or user_said_yes):
        submit(answer.mail)                       # processed, or processed/error 906 with pli's reason
    for match in match_reports(raw_report, sent_ids):   # an MDN or DSN about mail we sent
        match.original_message_id, match.notification.summary()   # for the receipts line

The error codes are the ANS's (volet "Transmission LPS de documents CDA par
courriel MSSanté", table of the consumer's errors, 900 to 906); pli, which
files every mail it can read, answers an error only when it could not read
what was sent (a refused package, an unreadable CDA or lab file): 906
"Erreur 'Autre'", the one-line reason in the human part.  On error the
original goes back whole with its attachments, as the ANS asks, so that the
sender can resend it after correction; on success its headers only.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32

from pli.core.receipts.mdn import build_mdn, mdn_request
from pli.core.receipts.notifications import Notification, read_notifications

ANS_ERRORS = {
    "900": "Version du document incorrecte lors d'une demande de remplacement/suppression",
    "901": "Auteur non autorisé à remplacer ou supprimer un document",
    "902": "Identifiant patient inconnu",
    "903": "INS non présent dans le document",
    "904": "L'INS transmis ne correspond pas exactement à celui stocké dans la base du consommateur",
    "905": "L'INS transmis n'est pas complet",
    "906": "Erreur 'Autre'",
}
UNREADABLE = "906"


@dataclass(frozen=True)
class MdnAnswer:
    mail: EmailMessage
    to: str
    needs_confirmation: bool          # RFC 8098 §2.1: the address is not the Return-Path; ask the user first
    error: tuple[str, str] | None     # (code, label) when processed/error


@dataclass(frozen=True)
class Matched:
    notification: Notification
    original_message_id: str          # as pli sent it, "" when the report is about no mail pli knows


def mdn_answer(raw: bytes, me: str, *, problems: tuple[str, ...] = (), error: str | None = None,
               manual: bool = False) -> MdnAnswer | None:
    """The MDN for a received mail, or None when it asks for none (or is itself a report).

    `problems`: what could not be read (ReceivedMss.problems): processed/error 906 with the first reason.
    `error`: an ANS code (900-906) the user chose, overriding.
    """
    original = message_from_bytes(raw, policy=compat32)
    request = mdn_request(original)
    if request is None:
        return None
    chosen = _error(problems, error)
    mail = build_mdn(original, request, me, error=chosen, manual=manual or request.needs_confirmation,
                     include="full" if chosen else "headers", detail=problems[0] if chosen and problems else "")
    return MdnAnswer(mail, request.to, request.needs_confirmation, chosen)


def match_reports(raw: bytes, sent_ids: Iterable[str]) -> list[Matched]:
    """Each notification of an MDN or DSN, with the Message-ID of the sent mail it is about.

    `sent_ids`: the Message-IDs of the mail pli sent that the report may be about, with or without <>.
    [] for a mail that is not a report; MalformedNotification (one line) for a report pli cannot read.
    A notification that names no Message-ID (a DSN without the returned headers) is about the sent mail its
    Original-Envelope-Id names (the ENVID pli gives a submission: envelope_id), else the one the report's own
    In-Reply-To or References names, if any.
    """
    known = {normal_id(i): i for i in sent_ids}
    notices = read_notifications(raw)
    replied = next((known[i] for i in map(normal_id, _threading_ids(raw)) if i in known), "")
    return [Matched(notice, known.get(normal_id(notice.original_message_id), "") if notice.original_message_id
                    else known.get(from_envelope_id(notice.envelope_id), replied)) for notice in notices]


def named_ids(raw: bytes) -> list[str]:
    """Every Message-ID a report may be about, without <>: its notifications' originals, then its In-Reply-To
    and References (the sent mail to look for); MalformedNotification as read_notifications."""
    notices = read_notifications(raw)
    found = [normal_id(n.original_message_id) for n in notices if n.original_message_id]
    found += [from_envelope_id(n.envelope_id) for n in notices if n.envelope_id]
    return [i for i in dict.fromkeys(found + [normal_id(i) for i in _threading_ids(raw)]) if i]


def envelope_id(message_id: str) -> str:
    """The ENVID (RFC 3461 §4.4) pli gives the submission of a mail: its Message-ID without <>, in xtext, so that
    a DSN's Original-Envelope-Id names the mail even when the DSN returns none of its headers."""
    return "".join(c if 33 <= ord(c) <= 126 and c not in "+=" else f"+{ord(c):02X}"
                   for c in normal_id(message_id))


def from_envelope_id(envid: str) -> str:
    """The Message-ID (without <>) an Original-Envelope-Id written by envelope_id names; "" for a malformed one."""
    try:
        return normal_id(re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), envid.strip()))
    except ValueError:
        return ""


def _threading_ids(raw: bytes) -> list[str]:
    head = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return re.findall(r"<[^<>\s]+>", " ".join(str(head.get(name, "")) for name in ("In-Reply-To", "References")))


def normal_id(message_id: str) -> str:
    """'<a@b>' and ' a@b ' name the same mail."""
    return message_id.strip().strip("<>").strip()


def _error(problems: tuple[str, ...], error: str | None) -> tuple[str, str] | None:
    if error is not None:
        if error not in ANS_ERRORS:
            raise ValueError(f"unknown MSSanté error code {error!r} (use {', '.join(ANS_ERRORS)})")
        return error, ANS_ERRORS[error]
    return (UNREADABLE, ANS_ERRORS[UNREADABLE]) if problems else None
