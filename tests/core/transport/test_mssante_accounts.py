"""Logging in to an MSSanté-like operator (a real Dovecot, TLS from a test CA) by every method pli offers.

The small client functions below are what the fetch and submission of an
MSSanté account will do (tls.py for the connection, sasl.py for the login);
they connect to 127.0.0.1 while naming the operator's host, so that the
certificate's name is checked as it would be in production.
"""
from __future__ import annotations

import email
import imaplib
import os
import shutil
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass

import pytest

from dovecot_fixtures import OperatorDovecot, make_jwt
from pki_fixtures import TestCa
from pli.core.transport.oauth_token import TokenCommand
from pli.core.transport.sasl import (LoginRefused, OAuthExchange, imap_authenticate, imap_external,
                                     smtp_authenticate, smtp_external)
from pli.core.transport.submission import crlf
from pli.core.transport.tls import (ExpiredServerCertificate, HostnameMismatch, TlsFailed, TlsSettings,
                                    UntrustedServer, client_context, tls_failure)

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/lib/dovecot/submission")
                                or shutil.which("dovecot") is None and not os.path.exists("/usr/sbin/dovecot"),
                                reason="dovecot with dovecot-submissiond is not installed (.ci/system-packages)")

HOST = "mss.op.test"
KEY = os.urandom(32)
USER, PASSWORD = "dr.martin", OperatorDovecot.USERS["dr.martin"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    return {"ca": TestCa(folder / "ca"), "clients": TestCa(folder / "clients", "mailbox CA"),
            "other": TestCa(folder / "other", "other CA")}


@pytest.fixture(scope="module")
def operator(pki):
    ca = pki["ca"]
    with OperatorDovecot(ca.server("mss", hosts=(HOST, "localhost", "127.0.0.1")), oauth_key=KEY,
                         certs_by_name={"expired.op.test": ca.server("old", hosts=("expired.op.test",),
                                                                     expired=True)}) as server:
        yield server


@pytest.fixture(scope="module")
def app_operator(pki):
    """An operator serving application mailboxes: a client certificate is required for every login."""
    with OperatorDovecot(pki["ca"].server("mss-app", hosts=(HOST,)), client_ca=pki["clients"]) as server:
        yield server


@pytest.fixture
def trust(pki):
    return TlsSettings(ca_file=pki["ca"].cert_path)


# -- the client side: what an MSSanté account's fetch and submission will do --------------------------------

class LoopbackIMAP4(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return socket.create_connection(("127.0.0.1", self.port), timeout)


class LoopbackIMAP4_SSL(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class LoopbackSMTP(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return socket.create_connection(("127.0.0.1", port), timeout)


class LoopbackSMTP_SSL(smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection(("127.0.0.1", port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self._host)


@dataclass(frozen=True)
class Login:
    method: str                 # "password", "xoauth2", "oauthbearer", "certificate"
    user: str = ""
    secret: str = ""            # the password or the access token


def imap_session(port: int, security: str, tls: TlsSettings, login: Login, host: str = HOST) -> imaplib.IMAP4:
    server = f"{host}:{port}"
    try:
        if security == "tls":
            imap = LoopbackIMAP4_SSL(host, port, ssl_context=client_context(tls), timeout=10)
        else:
            imap = LoopbackIMAP4(host, port, timeout=10)
            imap.starttls(ssl_context=client_context(tls))
        if login.method == "password":
            try:
                imap.login(login.user, login.secret)
            except imaplib.IMAP4.error as error:
                raise LoginRefused(f"{server} refused the password of {login.user} ({error})") from None
        elif login.method == "certificate":
            imap_external(imap, server)
        else:
            imap_authenticate(imap, OAuthExchange(login.method, login.user, login.secret, host, port), server)
    except ssl.SSLError as error:
        raise tls_failure(error, server, tls) from None
    return imap


def smtp_session(port: int, security: str, tls: TlsSettings, login: Login, host: str = HOST) -> smtplib.SMTP:
    server = f"{host}:{port}"
    try:
        if security == "tls":
            smtp = LoopbackSMTP_SSL(host, port, context=client_context(tls), timeout=10)
        else:
            smtp = LoopbackSMTP(host, port, timeout=10)
            smtp.starttls(context=client_context(tls))
        smtp.ehlo()
        if login.method == "password":
            smtp.login(login.user, login.secret)
        elif login.method == "certificate":
            smtp_external(smtp, server)
        else:
            smtp_authenticate(smtp, OAuthExchange(login.method, login.user, login.secret, host, port), server)
    except ssl.SSLError as error:
        raise tls_failure(error, server, tls) from None
    return smtp


def message(subject: str, to: str = "dr.b@hopital.mssante.test") -> bytes:
    return crlf(f"From: {USER}@op.mssante.test\nTo: {to}\nSubject: {subject}\n"
                f"Message-ID: <{os.urandom(6).hex()}@op.mssante.test>\n\nBonjour.\n".encode())


def relayed(operator: OperatorDovecot, subject: str) -> list[tuple[str, list[str], bytes]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for m in operator.sink.messages if f"Subject: {subject}".encode() in m[2]]
        if found:
            return found
        time.sleep(0.05)
    return []


# -- logins -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("security, port", [("tls", "imaps_port"), ("starttls", "imap_port")])
def test_password_login_over_implicit_tls_and_starttls(operator, trust, security, port):
    imap = imap_session(getattr(operator, port), security, trust, Login("password", USER, PASSWORD))
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_token_login_on_imap_and_on_submission_sends_the_mail_through_the_relay(operator, trust, mechanism,
                                                                                 security):
    token = make_jwt(KEY, USER)
    imap = imap_session(operator.imaps_port if security == "tls" else operator.imap_port, security, trust,
                        Login(mechanism, USER, token))
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    subject = f"{mechanism} {security} {os.urandom(4).hex()}"
    smtp = smtp_session(operator.submissions_port if security == "tls" else operator.submission_port, security,
                        trust, Login(mechanism, USER, token))
    smtp.sendmail(f"{USER}@op.mssante.test", ["dr.b@hopital.mssante.test"], message(subject))
    smtp.quit()
    [(sender, recipients, data)] = relayed(operator, subject)
    assert sender == f"{USER}@op.mssante.test" and recipients == ["dr.b@hopital.mssante.test"]


def test_the_token_command_feeds_the_login(operator, trust, tmp_path):
    helper = tmp_path / "get-token"
    helper.write_text(f"#!/bin/sh\necho '{make_jwt(KEY, USER)}'\n")
    helper.chmod(0o700)
    token = TokenCommand.from_config([str(helper)], "test").token()
    imap = imap_session(operator.imaps_port, "tls", trust, Login("oauthbearer", USER, token))
    assert imap.state == "AUTH"
    imap.logout()


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
@pytest.mark.parametrize("token", [
    pytest.param(lambda: make_jwt(KEY, USER, lifetime=-60), id="expired"),
    pytest.param(lambda: make_jwt(os.urandom(32), USER), id="signed-by-another-key"),
    pytest.param(lambda: make_jwt(KEY, "secretariat"), id="for-another-mailbox"),
    pytest.param(lambda: make_jwt(KEY, USER, issuer="https://evil.test"), id="unknown-issuer"),
])
def test_a_bad_token_is_one_plain_line_on_imap_and_on_submission(operator, trust, mechanism, token):
    bad = token()
    with pytest.raises(LoginRefused) as on_imap:
        imap_session(operator.imaps_port, "tls", trust, Login(mechanism, USER, bad))
    with pytest.raises(LoginRefused) as on_smtp:
        smtp_session(operator.submissions_port, "tls", trust, Login(mechanism, USER, bad))
    for refused in (on_imap.value, on_smtp.value):
        text = str(refused)
        assert "access token is not valid" in text and "\n" not in text and bad not in text


def test_mail_delivered_over_lmtp_is_fetched_with_a_token(operator, trust):
    subject = f"CR-BIO {os.urandom(4).hex()}"
    with smtplib.LMTP("127.0.0.1", operator.lmtp_port, timeout=10) as lmtp:
        lmtp.sendmail("labo@labo.mssante.test", [USER], message(subject, to=f"{USER}@op.mssante.test"))
    imap = imap_session(operator.imaps_port, "tls", trust, Login("xoauth2", USER, make_jwt(KEY, USER)))
    imap.select("INBOX", readonly=True)
    _, found = imap.uid("SEARCH", "SUBJECT", f'"{subject}"')
    [uid] = found[0].split()
    _, data = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
    imap.logout()
    assert email.message_from_bytes(data[0][1])["Subject"] == subject


# -- what must fail, and how it reads ----------------------------------------------------------------------

@pytest.mark.parametrize("client", ["imap-tls", "imap-starttls", "smtp-tls", "smtp-starttls"])
def test_wrong_ca_expired_certificate_and_wrong_host_are_typed_errors(operator, pki, trust, client):
    kind, security = client.split("-")
    port = {("imap", "tls"): operator.imaps_port, ("imap", "starttls"): operator.imap_port,
            ("smtp", "tls"): operator.submissions_port, ("smtp", "starttls"): operator.submission_port}[
        (kind, security)]
    session = imap_session if kind == "imap" else smtp_session
    login = Login("password", USER, PASSWORD)
    with pytest.raises(UntrustedServer, match="not signed by the CA bundle"):
        session(port, security, TlsSettings(ca_file=pki["other"].cert_path), login)
    with pytest.raises(ExpiredServerCertificate, match="has expired"):
        session(port, security, trust, login, host="expired.op.test")
    with pytest.raises(HostnameMismatch, match="another host name"):
        session(port, security, trust, login, host="wrong.op.test")


def test_an_error_never_carries_a_traceback_worthy_text(operator, pki):
    with pytest.raises(TlsFailed) as failed:
        imap_session(operator.imaps_port, "tls", TlsSettings(ca_file=pki["other"].cert_path),
                     Login("password", USER, PASSWORD))
    assert "CERTIFICATE_VERIFY_FAILED" not in str(failed.value) and "_ssl.c" not in str(failed.value)


# -- application mailboxes: the client certificate is the login --------------------------------------------

@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_certificate_login_on_imap_and_submission(app_operator, pki, security):
    app = pki["clients"].client("labo-app", "labo-app")
    tls = TlsSettings(ca_file=pki["ca"].cert_path, client_cert=app.cert_path, client_key=app.key_path)
    imap = imap_session(app_operator.imaps_port if security == "tls" else app_operator.imap_port, security, tls,
                        Login("certificate"))
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    subject = f"from the lab application {security} {os.urandom(4).hex()}"
    smtp = smtp_session(app_operator.submissions_port if security == "tls" else app_operator.submission_port,
                        security, tls, Login("certificate"))
    smtp.sendmail("labo-app@labo.mssante.test", ["dr.martin@op.mssante.test"], message(subject))
    smtp.quit()
    assert relayed(app_operator, subject)


def test_without_a_certificate_or_with_a_foreign_one_no_login_succeeds(app_operator, pki):
    trust_only = TlsSettings(ca_file=pki["ca"].cert_path)
    with pytest.raises(LoginRefused, match="valid SSL certificate"):
        imap_session(app_operator.imaps_port, "tls", trust_only, Login("password", USER, PASSWORD))
    with pytest.raises(LoginRefused, match="did not accept the client certificate"):
        imap_session(app_operator.imaps_port, "tls", trust_only, Login("certificate"))
    stranger = pki["other"].client("stranger", "labo-app")
    foreign = TlsSettings(ca_file=pki["ca"].cert_path, client_cert=stranger.cert_path, client_key=stranger.key_path)
    with pytest.raises(LoginRefused, match="did not accept the client certificate"):
        imap_session(app_operator.imaps_port, "tls", foreign, Login("certificate"))
    with pytest.raises(LoginRefused, match="did not accept the client certificate"):
        smtp_session(app_operator.submissions_port, "tls", foreign, Login("certificate"))


def test_an_mdn_pli_builds_travels_through_the_operator_and_reads_back(operator, trust):
    from email.message import EmailMessage

    from pli.core.receipts.mdn import build_mdn, mdn_request
    from pli.core.receipts.notifications import read_notifications

    original = EmailMessage()
    original["From"], original["To"] = "labo@labo.mssante.test", f"{USER}@op.mssante.test"
    original["Subject"] = f"XDM/1.0/DDM+CR {os.urandom(4).hex()}"
    original["Message-ID"] = "<cr-77@labo.mssante.test>"
    original["Disposition-Notification-To"] = "labo@labo.mssante.test"
    original["Return-Path"] = "<labo@labo.mssante.test>"
    original.set_content("Compte rendu joint.\n")
    mdn = build_mdn(original, mdn_request(original), f"{USER}@op.mssante.test", error=("906", "Erreur autre"))
    smtp = smtp_session(operator.submissions_port, "tls", trust, Login("oauthbearer", USER, make_jwt(KEY, USER)))
    smtp.sendmail(f"{USER}@op.mssante.test", ["labo@labo.mssante.test"], crlf(mdn.as_bytes()))
    smtp.quit()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(b"<cr-77@labo.mssante.test>" in m[2] for m in operator.sink.messages):
        time.sleep(0.05)
    [data] = [m[2] for m in operator.sink.messages if b"<cr-77@labo.mssante.test>" in m[2]]
    [notice] = read_notifications(data)
    assert (notice.original_message_id, notice.failed, notice.status) == ("<cr-77@labo.mssante.test>", True, "906")
