"""The one error the lab parsers raise: a report pli cannot read, with the line and the reason."""
from __future__ import annotations

from pli.core.errors import PliError


class MalformedReport(PliError):
    """A lab file that is neither valid HPRIM nor valid HL7 v2 (or is damaged).

    The message names the format, the line (1-based, in the file as received) and
    what is wrong there; it never quotes the line, which may hold patient data.
    """

    def __init__(self, fmt: str, line: int, reason: str):
        self.format = fmt
        self.line = line
        self.reason = reason
        where = f"line {line}" if line else "the file"
        super().__init__(f"malformed {fmt} lab report at {where}: {reason}; "
                         "ask the lab to resend it (the original is kept)")
