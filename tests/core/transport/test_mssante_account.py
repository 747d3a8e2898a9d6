"""MSSanté accounts from the config to a logged-in session, against a real Dovecot speaking like an operator.

Each login kind (password, XOAUTH2 and OAUTHBEARER with a token command, client certificate) on IMAP and on
submission, implicit TLS and STARTTLS; and what must fail, each as one typed line: wrong CA, expired server
certificate, bad token, wrong password, a client key others can read, a sealed key with a wrong passphrase,
a server that is not there, and settings that would break the tier's trust.
"""
from __future__ import annotations

import os
import shutil

import pytest

from dovecot_fixtures import (OperatorDovecot, deliver, fetch_marked, make_jwt, mss_account, operator_pki,
                              relayed_to, token_helper)
from pki_fixtures import encrypted_key_copy
from pli.core.transport.accounts import AccountError
from pli.core.transport.mssante_account import Credentials, ServerUnreachable, open_imap, open_smtp
from pli.core.transport.sasl import LoginRefused
from pli.core.transport.submission import crlf
from pli.core.transport.tls import (BadClientCertificate, ClientCertificateRejected, ExpiredServerCertificate,
                                    UntrustedServer)
from transport_fixtures import free_port

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/lib/dovecot/submission")
                                or shutil.which("dovecot") is None and not os.path.exists("/usr/sbin/dovecot"),
                                reason="dovecot with dovecot-submissiond is not installed (.ci/system-packages)")

KEY = os.urandom(32)
USER, PASSWORD = "dr.martin", OperatorDovecot.USERS["dr.martin"]
ADDRESS = "dr.martin@op.mssante.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return operator_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def operator(pki):
    with OperatorDovecot(pki["ca"].server("mss", hosts=("localhost",)), oauth_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def expired_operator(pki):
    with OperatorDovecot(pki["ca"].server("old", hosts=("localhost",), expired=True)) as server:
        yield server


@pytest.fixture(scope="module")
def app_operator(pki):
    with OperatorDovecot(pki["ca"].server("mss-app", hosts=("localhost",)), client_ca=pki["clients"]) as server:
        yield server


def keys_for(server: OperatorDovecot, pki, security: str = "tls", **more) -> dict:
    imap_port = server.imaps_port if security == "tls" else server.imap_port
    smtp_port = server.submissions_port if security == "tls" else server.submission_port
    return {"address": ADDRESS, "mssante": True, "imap_host": "localhost", "imap_port": imap_port,
            "imap_security": security, "smtp_host": "localhost", "smtp_port": smtp_port,
            "smtp_security": security, "ca_file": str(pki["ca"].cert_path), **more}


def send_and_fetch(account, credentials: Credentials, server: OperatorDovecot) -> bytes:
    """Submit a mail, take it from the relay into the mailbox over LMTP, fetch it back over IMAP."""
    marker = f"mss-{os.urandom(4).hex()}"
    smtp = open_smtp(account, credentials)
    smtp.sendmail(ADDRESS, [ADDRESS], crlf(f"From: {ADDRESS}\nTo: {ADDRESS}\nSubject: {marker}\n\nBonjour.\n"
                                            .encode()))
    smtp.quit()
    _, _, data = relayed_to(server, marker.encode())
    deliver(server, ADDRESS, account.imap_user or "labo-app", data)
    imap = open_imap(account, credentials)
    try:
        return fetch_marked(imap, marker)
    finally:
        imap.logout()


# -- each login kind, on both servers --------------------------------------------------------------------------

@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_password_account_submits_and_fetches_over_tls_and_starttls(operator, pki, tmp_path, security):
    password_file = tmp_path / "pass"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    account, _ = mss_account(tmp_path / "home", **keys_for(operator, pki, security, username=USER, auth="password",
                                                           password_file=str(password_file)))
    assert (account.auth, account.imap_user, account.smtp_user) == ("password", USER, USER)
    assert b"Bonjour." in send_and_fetch(account, Credentials(password=PASSWORD), operator)


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_a_token_account_gets_its_token_from_the_command_and_logs_in_on_both_servers(operator, pki, tmp_path,
                                                                                      mechanism):
    helper = token_helper(tmp_path / "bin", make_jwt(KEY, USER))
    account, _ = mss_account(tmp_path / "home", **keys_for(operator, pki, username=USER, auth=mechanism,
                                                           token_command=[str(helper)]))
    assert b"Bonjour." in send_and_fetch(account, Credentials(), operator)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_application_mailbox_logs_in_with_its_certificate(app_operator, pki, tmp_path, security):
    app = pki["clients"].client(f"labo-app-{security}", "labo-app")
    account, _ = mss_account(tmp_path / "home", **keys_for(app_operator, pki, security, auth="certificate",
                                                           client_cert=str(app.cert_path),
                                                           client_key=str(app.key_path)))
    assert b"Bonjour." in send_and_fetch(account, Credentials(), app_operator)


def test_a_sealed_client_key_opens_with_its_passphrase_and_not_with_another(app_operator, pki, tmp_path):
    app = pki["clients"].client("labo-app-sealed", "labo-app")
    sealed = encrypted_key_copy(app, b"correct horse", tmp_path / "sealed.key")
    sealed.chmod(0o644)           # encrypted: its mode does not matter, the passphrase guards it
    account, _ = mss_account(tmp_path / "home", **keys_for(app_operator, pki, auth="certificate",
                                                           client_cert=str(app.cert_path), client_key=str(sealed),
                                                           client_key_passphrase="keyring"))
    assert account.key_in_keyring
    imap = open_imap(account, Credentials(key_passphrase=b"correct horse"))
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    with pytest.raises(BadClientCertificate, match="does not open with its passphrase"):
        open_imap(account, Credentials(key_passphrase=b"wrong"))
    with pytest.raises(BadClientCertificate, match="no passphrase"):
        open_smtp(account, Credentials())


# -- what must fail, one typed line each -----------------------------------------------------------------------

def one_line(error: BaseException, *secrets: str) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text and "_ssl.c" not in text
    for secret in secrets:
        assert secret not in text
    return text


@pytest.mark.parametrize("opener", [open_imap, open_smtp])
def test_a_server_certificate_from_another_ca_is_refused(operator, pki, tmp_path, opener):
    account, _ = mss_account(tmp_path / "home", **{**keys_for(operator, pki, username=USER),
                                                   "ca_file": str(pki["other"].cert_path)})
    with pytest.raises(UntrustedServer) as refused:
        opener(account, Credentials(password=PASSWORD))
    assert "not signed by the CA bundle" in one_line(refused.value, PASSWORD)


@pytest.mark.parametrize("opener", [open_imap, open_smtp])
def test_an_expired_server_certificate_is_refused(expired_operator, pki, tmp_path, opener):
    account, _ = mss_account(tmp_path / "home", **keys_for(expired_operator, pki, username=USER))
    with pytest.raises(ExpiredServerCertificate) as refused:
        opener(account, Credentials(password=PASSWORD))
    assert "has expired" in one_line(refused.value)


@pytest.mark.parametrize("opener", [open_imap, open_smtp])
def test_a_wrong_password_is_refused_without_quoting_it(operator, pki, tmp_path, opener):
    account, _ = mss_account(tmp_path / "home", **keys_for(operator, pki, username=USER))
    with pytest.raises(LoginRefused) as refused:
        opener(account, Credentials(password="not-the-password"))
    text = one_line(refused.value, "not-the-password")
    assert "refused the password of dr.martin" in text and "pli send password mss --server" in text


@pytest.mark.parametrize("opener", [open_imap, open_smtp])
def test_a_bad_token_is_refused_in_words_without_quoting_it(operator, pki, tmp_path, opener):
    expired = make_jwt(KEY, USER, lifetime=-60)
    helper = token_helper(tmp_path / "bin", expired)
    account, _ = mss_account(tmp_path / "home", **keys_for(operator, pki, username=USER, auth="oauthbearer",
                                                           token_command=[str(helper)]))
    with pytest.raises(LoginRefused) as refused:
        opener(account, Credentials())
    assert "access token is not valid" in one_line(refused.value, expired)


def test_a_client_key_others_can_read_is_refused_before_connecting(app_operator, pki, tmp_path):
    app = pki["clients"].client("labo-app-open", "labo-app")
    app.key_path.chmod(0o644)
    account, _ = mss_account(tmp_path / "home", **keys_for(app_operator, pki, auth="certificate",
                                                           client_cert=str(app.cert_path),
                                                           client_key=str(app.key_path)))
    with pytest.raises(BadClientCertificate, match="readable by others: `chmod 600"):
        open_imap(account)


def test_a_certificate_from_another_ca_is_refused_by_the_operator(app_operator, pki, tmp_path):
    stranger = pki["other"].client("stranger", "labo-app")
    account, _ = mss_account(tmp_path / "home", **keys_for(app_operator, pki, auth="certificate",
                                                           client_cert=str(stranger.cert_path),
                                                           client_key=str(stranger.key_path)))
    with pytest.raises((LoginRefused, ClientCertificateRejected)) as refused:
        open_imap(account)
    assert "client certificate" in one_line(refused.value)


def test_a_server_that_is_not_there_is_one_line(pki, tmp_path):
    account, _ = mss_account(tmp_path / "home", address=ADDRESS, mssante=True, imap_host="127.0.0.1",
                             imap_port=free_port(), username=USER, ca_file=str(pki["ca"].cert_path))
    with pytest.raises(ServerUnreachable, match="refused the connection"):
        open_imap(account, Credentials(password=PASSWORD))


# -- settings -------------------------------------------------------------------------------------------------

def test_an_account_not_marked_mssante_is_left_to_the_ordinary_rules(tmp_path):
    account, _ = mss_account(tmp_path, address=ADDRESS, imap_host="imap.example", username=USER)
    assert account is None


@pytest.mark.parametrize("keys, complaint", [
    ({"imap_host": "127.0.0.1", "imap_security": "none", "username": USER}, "speaks TLS"),
    ({"imap_host": "imap.example", "username": USER, "auth": "kerberos"}, "auth must be one of"),
    ({"imap_host": "imap.example", "username": USER, "auth": "xoauth2"}, "needs token_command"),
    ({"imap_host": "imap.example", "auth": "certificate"}, "needs client_cert"),
    ({"imap_host": "imap.example", "auth": "password"}, "needs a username"),
    ({"username": USER}, "needs imap_host, smtp_host or both"),
    ({"imap_host": "imap.example", "username": USER, "client_key": "k.pem"}, "client_key is set without"),
])
def test_settings_that_would_break_the_tier_are_refused_in_one_line(tmp_path, keys, complaint):
    with pytest.raises(AccountError, match=complaint) as refused:
        mss_account(tmp_path, address=ADDRESS, mssante=True, **keys)
    assert "[accounts.mss]" in one_line(refused.value)
