"""A version 1 trace (every entry signed), written byte by byte from docs/AUDIT.md, not by pli's writer:
journals written before issue 17's version 2 must still verify and be continued."""
import base64
import hashlib
import json

from pli.core.audit import authorize_signer
from pli.core.audit.journal import head_path, journal_path

GENESIS = "0" * 64
TIME = "2026-11-29T09:00:00.000000Z"


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def write_v1_journal(home, key, steps, actor: str = "dr.martin@pli.test") -> list[bytes]:
    """`steps`: (step, message id, details) in order.  Writes trace/journal, its head and trace/signers;
    returns the lines written."""
    from pli.core.audit.signers import public_b64

    signer = public_b64(key.public_key())
    authorize_signer(home, key.public_key(), "version 1 writer")
    lines, prev = [], GENESIS
    for seq, (step, message, details) in enumerate(steps, 1):
        body = _canonical({"v": 1, "seq": seq, "time": TIME, "step": step, "message": message, "actor": actor,
                           "signer": signer, "prev": prev, "details": details})
        line = body + b"\t" + base64.b64encode(key.sign(b"pli-audit-entry-v1\n" + body))
        prev = hashlib.sha256(line).hexdigest()
        lines.append(line + b"\n")
    journal_path(home).write_bytes(b"".join(lines))
    journal_path(home).chmod(0o600)
    head = _canonical({"v": 1, "seq": len(lines), "hash": prev, "signer": signer, "time": TIME})
    head_path(home).write_bytes(head + b"\t" + base64.b64encode(key.sign(b"pli-audit-head-v1\n" + head)) + b"\n")
    head_path(home).chmod(0o600)
    return lines
