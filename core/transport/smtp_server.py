"""aiosmtpd's SMTP server with its two per-message hot spots made cheap: address parsing and the DATA reader.

    class GatewaySMTP(PliSMTP): ...          # the gateway; bench/transport_gateway.py's bare server uses PliSMTP too

Profiling the gateway (bench/RESULTS.md, "Transport") showed aiosmtpd spending
more CPU per message than the envelope check: MAIL and RCPT addresses go
through the `email` package's RFC 5322 header parser (some 60 function calls
per address), and DATA is read one line at a time (an await, a log call and
several checks per line).  Both keep aiosmtpd's behaviour exactly:

- an address that is a plain `<local@domain>` (dot-atoms, what every MTA
  sends) is taken by one regular expression; anything else (quoted local
  parts, source routes, literals, comments, `<>`) goes to aiosmtpd's parser;
- DATA is read in large pieces up to the first CRLF "." CRLF that begins a
  line (never a bare LF: no SMTP smuggling), then checked as aiosmtpd
  checks it: the size limit (552, the rest drained), the line length limit
  (500), dot-unstuffing.  tests/core/transport/test_smtp_server.py feeds both
  readers the same streams, cut at random places.

Only the reading is replaced; aiosmtpd still answers, calls the handler and
keeps its state machine.  Written against aiosmtpd 1.4.
"""
from __future__ import annotations

import asyncio
import re

from aiosmtpd.smtp import MISSING, SMTP, syntax

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")
_END = b"\r\n.\r\n"


class DataTooLong(Exception):
    """A line of DATA longer than the line length limit."""


class DataTooBig(Exception):
    """DATA beyond the size limit."""


class PliSMTP(SMTP):
    """aiosmtpd's SMTP with a one-regex path for plain addresses and a block reader for DATA."""

    def _getaddr(self, arg: str):
        match = _PLAIN_ADDRESS.match(arg)
        if match is None:
            return super()._getaddr(arg)
        address = match.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, arg[match.end():].lstrip(" \t")

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if self._decode_data or "DATA" not in self._handle_hooks:   # text mode, old handler API: aiosmtpd's own
            return await super().smtp_DATA(arg)
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content = await read_data(self._reader, self.data_size_limit, self.line_length_limit)
        except asyncio.CancelledError:
            self._writer.close()   # the connection went away during DATA, as aiosmtpd does
            raise
        except asyncio.IncompleteReadError:
            self._writer.close()
            return
        except DataTooLong:
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            self._set_post_data_state()
            return
        except DataTooBig:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)


async def read_data(reader: asyncio.StreamReader, size_limit: int | None, line_limit: int) -> bytes:
    """The mail of a DATA command, unstuffed: DataTooBig / DataTooLong once the terminator has been read.

    The stream starts just after the CRLF of "DATA"; the mail ends at the
    first "." CRLF at the start of a line.  `reader.readuntil(CRLF "." CRLF)`
    finds it everywhere except right after a CRLF this function consumed
    itself, so the reading first steps past the start of a line, by hand.
    """
    data = bytearray(b"\r\n")           # the CRLF of the DATA command: the mail starts a line
    too_big = False
    while True:                         # until the reading is inside a line, by single bytes
        if data.endswith(b"\r\n"):
            first = await reader.readexactly(1)
            if first == b".":
                rest = await reader.readexactly(2)
                if rest == b"\r\n":
                    return _finish(data, line_limit)
                data += first + rest
            else:
                data += first
        elif data.endswith(b"\r"):
            data += await reader.readexactly(1)
        else:
            break
    while True:
        try:
            data += await reader.readuntil(_END)
            break
        except asyncio.LimitOverrunError as error:   # no end within the reader's limit: take what is safe
            data += await reader.readexactly(error.consumed)
        if size_limit and len(data) - 2 > size_limit + len(_END):
            too_big = True
            del data[2:]                   # keep memory flat: the rest is only drained
    if too_big or (size_limit and len(data) - 2 - 3 > size_limit):   # the mail: between CRLF and "." CRLF
        raise DataTooBig
    return _finish(data[:-3], line_limit)


def _finish(data: bytearray, line_limit: int) -> bytes:
    """`data`: CRLF, the mail's lines each ending in CRLF.  Checks line lengths, removes the dot stuffing."""
    body = bytes(data[2:])
    if line_limit and any(len(line) + 2 > line_limit for line in body.split(b"\r\n")):
        raise DataTooLong
    return body.replace(b"\r\n.", b"\r\n").removeprefix(b".")
