"""A home of pli with an MSSanté account on the test operator (dovecot_fixtures.OperatorDovecot), for the wiring tests.

    home = mss_home(tmp_path, operator, "dr.martin")   # keyring, store, [accounts.mss] logging in by token
    pli(tmp_path, home, "fetch")                        # the `pli` command, in a subprocess
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from dovecot_fixtures import OperatorDovecot, make_jwt, token_helper
from pki_fixtures import TestCa
from pli.core.home import Home
from pli.core.store import create_store
from crypto_fixtures import make_keyring
from transport_fixtures import PASSPHRASE, PLI, write_account

DOMAIN = "op.mssante.test"


def operator_or_skip(tmp_path_factory):
    if not os.path.exists("/usr/lib/dovecot/submission") or (shutil.which("dovecot") is None
                                                            and not os.path.exists("/usr/sbin/dovecot")):
        pytest.skip("dovecot with dovecot-submissiond is not installed")
    ca = TestCa(tmp_path_factory.mktemp("pki") / "ca")
    server = OperatorDovecot(ca.server("mss", hosts=("localhost",)), oauth_key=os.urandom(32))
    server.test_ca = ca
    return server


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    """The test operator (a real Dovecot), one per test module; import it into the module that uses it."""
    with operator_or_skip(tmp_path_factory) as server:
        yield server


def mss_home(root, operator: OperatorDovecot, user: str, name: str = "mss", **keys) -> tuple[Home, object]:
    """(home, keyring): a home with a keyring, a store and an MSSanté account of `user` (XOAUTH2 by a token
    command); `keys` change the account's (None leaves one out)."""
    keyring = make_keyring(root, user.replace(".", "-"), 11)
    home = Home(root / user.replace(".", "-"))
    create_store(home, name=user, address=f"{user}@{DOMAIN}")
    helper = token_helper(home.root / "bin", make_jwt(operator.oauth_key, user, lifetime=3600))
    fields = dict(address=f"{user}@{DOMAIN}", mssante=True, auth="xoauth2", username=user,
                  token_command=[str(helper)], ca_file=str(operator.test_ca.cert_path), imap_host="localhost",
                  imap_port=operator.imaps_port, smtp_host="localhost", smtp_port=operator.submissions_port,
                  default=True)
    fields.update(keys)
    write_account(home, name, **{key: value for key, value in fields.items() if value is not None})
    return home, keyring


def pli(tmp_path, home: Home, *args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    return subprocess.run([*PLI, "--home", str(home.root), *args], capture_output=True, timeout=120, input=stdin,
                          env=dict(os.environ, PLI_PASSPHRASE_FILE=str(secret)))
