"""pli's search shortcuts on top of the notmuch query language.

    abnormal          tag:abnormal    (also: critical, unread, lab, quarantine, inbox, verified,
                                       sealed, unsealed, flagged, sent, replied)
    patient:NAME      tag:"patient:<key>" or Patient:NAME   (the patient's key, or words of the
                                       name in the protected X-Pli-Patient header)
    reason:bad-mac    tag:bad-mac     (why a message is in quarantine)
    (empty)           *

Everything else is passed to notmuch untouched (tag:, from:, date:, and, or,
not, parentheses, quoted phrases...).  Expansion is idempotent: expanding an
expanded query changes nothing, so callers may expand twice safely.
A bare shortcut word means the tag, not the word in the text: search the text
with `body:lab` or a quoted "lab".
"""
from __future__ import annotations

import re

from pli.core.vocab import PATIENT_PREFIX, SHORTCUT_TAGS


# A token: spaces, a parenthesis, or a word that may end in a "quoted part" (patient:"Marie Dupont").
_TOKEN = re.compile(r'\s+|[()]|[^\s()"]*"[^"]*"?|[^\s()"]+')


def patient_slug(name: str) -> str:
    """The form a patient key takes in a tag: lower case, runs of other characters -> '-'."""
    return re.sub(r"[^a-z0-9._]+", "-", name.strip().lower()).strip("-")


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value.strip('"')


def _expand_token(token: str) -> str:
    if token in SHORTCUT_TAGS:
        return f"tag:{token}"
    if token.startswith(PATIENT_PREFIX) and len(token) > len(PATIENT_PREFIX):
        name = _unquote(token[len(PATIENT_PREFIX):])
        words = " ".join(re.findall(r"\w+", name))
        key = patient_slug(name)
        if not key:
            return token
        header = f'Patient:"{words}"' if " " in words else f"Patient:{words}" if words else ""
        return f'(tag:"{PATIENT_PREFIX}{key}" or {header})' if header else f'tag:"{PATIENT_PREFIX}{key}"'
    if token.startswith("reason:") and len(token) > len("reason:"):
        return f"tag:{_unquote(token[len('reason:'):])}"
    return token


def expand(user_query: str) -> str:
    """Turn a query with pli's shortcuts into a notmuch query."""
    if not user_query.strip():
        return "*"
    return "".join(_expand_token(m.group(0)) for m in _TOKEN.finditer(user_query))
