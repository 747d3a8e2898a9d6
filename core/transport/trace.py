"""Writing transport steps to the trace: as the home's identity (send, fetch) or as a gateway's own key.

    journal = pli.core.audit.home_journal(home, keyring)  # signed with the identity's Ed25519 key
    journal = gateway_journal(trace_home, key_file, "gateway@hopital.example")
    batcher = TraceBatcher(journal); await batcher.record("accepted-by-gateway", eid, ...)

The gateway writes one batch for every message accepted meanwhile (one fsync
for many), and answers 250 only once its steps are on disk.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from pli.core.audit import Journal, Step
from pli.core.errors import ConfigError
from pli.core.home import Home


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (PKCS#8, unencrypted, mode 0600)."""
    try:
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"the gateway's trace key {path} is readable by others: `chmod 600 {path}`")
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"the gateway's trace key {path} does not exist") from None
    except (ValueError, TypeError):
        raise ConfigError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 key")
    return key


def gateway_journal(trace_home: Path, key_file: Path, actor: str):
    return Journal(Home(trace_home), load_signing_key(key_file), actor=actor)


class TraceBatcher:
    """Group commit for the trace: concurrent sessions' steps go out in one write and one fsync."""

    def __init__(self, journal) -> None:
        self.journal = journal
        self._waiting: list[tuple[list, asyncio.Future]] = []
        self._flushing = False

    async def record(self, step: str, message_id: str, **details) -> None:
        await self.record_steps([Step(step, message_id, details)])

    async def record_steps(self, steps: list) -> None:
        """Returns once the steps are durably in the trace (raises what the journal raised)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((list(steps), future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await loop.run_in_executor(None, self.journal.record_many,
                                               [s for steps, _ in batch for s in steps])
                except Exception as error:  # noqa: BLE001 - each waiting session answers 4xx with it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = False
