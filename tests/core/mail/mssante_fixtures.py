"""A home of pli with an MSSanté account on the test operator (dovecot_fixtures.OperatorDovecot), for the wiring tests.

    home = mss_home(tmp_path, operator, "dr.martin")   # keyring, store, [accounts.mss] logging in by token
    pli(tmp_path, home, "fetch")                        # the `pli` command, in a subprocess
    message_id = send_pdf(home, keyring)                # dr.martin sends a PDF to the lab (LAB), kept in Sent
    summary(home, message_id), stored(home, "tag:sent") # what the store holds
    with dsn_relay(operator, tmp_path) as (home, keyring, recorder): ...   # submitting to a server offering DSN
"""
from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from contextlib import contextmanager

import pytest

from dovecot_fixtures import OperatorDovecot, make_jwt, token_helper
from pki_fixtures import TestCa
from pli.core.home import Home
from pli.core.mail.mssante_send import send_documents
from pli.core.store import Store, create_store
from pli.core.xdm import file_document
from pli.core.xdm.compose import Sender
from crypto_fixtures import make_keyring
from test_xdm import LETTER, PDF, patient_of_fixture
from transport_fixtures import PASSPHRASE, PLI, submission_server, write_account

DOMAIN = "op.mssante.test"
LAB = f"secretariat@{DOMAIN}"
ME = f"dr.martin@{DOMAIN}"


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


def send_pdf(home, keyring, to=LAB) -> str:
    pdf = file_document(PDF, "application/pdf", "Courrier", LETTER, patient_of_fixture())
    sender = Sender(address=ME, rpps="10000000011", family="MARTIN", given="Jeanne")
    return send_documents(home, [pdf], sender, [to], keyring=keyring)


def bare(message_id: str) -> str:
    return message_id.strip("<>")


def summary(home, message_id: str):
    with Store.open(home) as store:
        return store.summary(bare(message_id))


def stored(home, query: str):
    with Store.open(home) as store:
        return store.window(query, 0, 100)


@contextmanager
def dsn_relay(operator, tmp_path):
    """(home, keyring, recorder): dr.martin's MSSanté account submitting to an aiosmtpd server that offers DSN
    (implicit TLS from the operator's test CA, password login), fetching from the operator as usual."""
    issued = operator.test_ca.server("dsn-relay", hosts=("localhost",))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(issued.cert_path, issued.key_path)
    password = OperatorDovecot.USERS["dr.martin"]
    secret = tmp_path / "mss.pass"
    secret.write_text(password)
    secret.chmod(0o600)
    with submission_server(implicit_tls=tls, login=("dr.martin", password), dsn=True) as (port, recorder):
        home, keyring = mss_home(tmp_path, operator, "dr.martin", smtp_port=port, auth="password",
                                 token_command=None, password_file=str(secret))
        yield home, keyring, recorder
