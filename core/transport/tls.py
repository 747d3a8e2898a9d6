"""TLS towards an operator's servers: the server checked against the account's CA bundle, an optional client certificate.

    settings = TlsSettings(ca_file=Path("/etc/pli/igc-sante.pem"),
                           client_cert=Path("~/.config/pli/bal-app.pem"), client_key=Path("~/.config/pli/bal-app.key"))
    context = client_context(settings)           # for imaplib.IMAP4_SSL, IMAP4.starttls, smtplib.SMTP_SSL, starttls
    ...
    except ssl.SSLError as error:
        raise tls_failure(error, "imap.operator.example:993", settings) from None

MSSanté operators run their servers under the health PKI, which no system
store holds: when a bundle is configured it is the only trust anchor (no
fallback to the system CAs, so a certificate from a public CA is refused
too), and the host name is always checked.  Application mailboxes log in
with a client certificate (mutual TLS): its key is either a file only its
owner can read (0600) or an encrypted PEM whose passphrase comes from
`key_passphrase` (the later integration keeps that passphrase sealed in the
keyring, as it does account passwords).  Every failure is one typed error
saying which side is wrong and what to do; the ssl module's own texts
("CERTIFICATE_VERIFY_FAILED") are not for the person at the keyboard.
"""
from __future__ import annotations

import datetime
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.errors import PliError

# OpenSSL's X509_V_ERR_* codes (x509_vfy.h) that ssl.SSLCertVerificationError carries as verify_code.
_NOT_YET_VALID, _EXPIRED = 9, 10
_UNTRUSTED = {2, 18, 19, 20, 21, 27, 28}   # no issuer / self-signed / untrusted / rejected
_HOST_MISMATCH, _IP_MISMATCH = 62, 64
# TLS alerts a server sends when it does not accept the client's certificate (or got none).
_CLIENT_CERT_ALERTS = ("CERTIFICATE_REQUIRED", "BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_EXPIRED",
                       "CERTIFICATE_UNKNOWN", "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_REVOKED",
                       "ACCESS_DENIED", "HANDSHAKE_FAILURE")


class TlsFailed(PliError):
    """A TLS connection to an operator's server could not be made safely."""

    exit_code = 75  # EX_TEMPFAIL: nothing was lost, the operation can be run again once fixed


class UntrustedServer(TlsFailed):
    """The server's certificate is not signed by a CA the account trusts."""


class ExpiredServerCertificate(TlsFailed):
    """The server's certificate has expired (or is not valid yet)."""


class HostnameMismatch(TlsFailed):
    """The server's certificate names another host."""


class ClientCertificateRejected(TlsFailed):
    """The server did not accept the client certificate (or wanted one and got none)."""


class BadClientCertificate(TlsFailed):
    """The account's own client certificate or key cannot be used (missing, unreadable, expired, mismatched)."""

    exit_code = 3


@dataclass(frozen=True)
class TlsSettings:
    """How one account speaks TLS.  `ca_file` None: the system's CAs (a public relay)."""

    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None        # None: the key is in client_cert's file
    key_passphrase: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def trust(self) -> str:
        """Where trust comes from, as error messages name it."""
        return f"the CA bundle {self.ca_file}" if self.ca_file else "the system's certificate authorities"


def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """A client context: TLS 1.2 or later, server certificate and host name checked, client certificate loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # CERT_REQUIRED and check_hostname by default
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.ca_file is not None:
        _load_bundle(context, settings.ca_file)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if settings.client_cert is not None:
        _load_client_certificate(context, settings)
    return context


def tls_failure(error: BaseException, server: str, settings: TlsSettings) -> TlsFailed:
    """The typed error for an ssl failure during (or right after) the handshake with `server`."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return _verification_failure(error, server, settings)
    reason = (getattr(error, "reason", None) or "").upper()
    if any(alert in reason for alert in _CLIENT_CERT_ALERTS) and "ALERT" in reason:
        if settings.client_cert is None:
            return ClientCertificateRejected(f"{server} asks for a client certificate and the account has none: "
                                             "set client_cert and client_key (the mailbox's certificate)")
        return ClientCertificateRejected(f"{server} refused the client certificate {settings.client_cert} "
                                         f"({_words(reason)}): check it is the one the operator issued for "
                                         "this mailbox and that it is still valid")
    if "WRONG_VERSION_NUMBER" in reason or "UNKNOWN_PROTOCOL" in reason or "RECORD_LAYER_FAILURE" in reason:
        return TlsFailed(f"{server} did not answer in TLS: check the port and the account's security setting "
                         "(implicit TLS or STARTTLS)")
    if "UNSUPPORTED_PROTOCOL" in reason or "PROTOCOL_VERSION" in reason:
        return TlsFailed(f"{server} offers no TLS version pli accepts (1.2 or later): ask the operator")
    if isinstance(error, ssl.SSLEOFError) or isinstance(error, ssl.SSLZeroReturnError):
        return ClientCertificateRejected(f"{server} closed the TLS connection during the handshake"
                                         + (": it may not accept the client certificate"
                                            if settings.client_cert else ": it may require a client certificate"))
    return TlsFailed(f"TLS with {server} failed ({_words(reason) or type(error).__name__})")


def _verification_failure(error: ssl.SSLCertVerificationError, server: str, settings: TlsSettings) -> TlsFailed:
    code = error.verify_code
    if code == _EXPIRED:
        return ExpiredServerCertificate(f"the certificate of {server} has expired: the operator must renew it "
                                        "(pli does not connect to a server with an expired certificate)")
    if code == _NOT_YET_VALID:
        return ExpiredServerCertificate(f"the certificate of {server} is not valid yet: check this computer's "
                                        "date and time")
    if code in (_HOST_MISMATCH, _IP_MISMATCH):
        return HostnameMismatch(f"the certificate of {server} is for another host name: check the account's "
                                "host (use the name the operator gives, not an address or an alias)")
    if code in _UNTRUSTED:
        return UntrustedServer(f"the certificate of {server} is not signed by {settings.trust}: check ca_file "
                               "(the operator's CA bundle) and the host")
    return TlsFailed(f"the certificate of {server} was refused ({error.verify_message})")


def _load_bundle(context: ssl.SSLContext, ca_file: Path) -> None:
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except FileNotFoundError:
        raise TlsFailed(f"the CA bundle {ca_file} does not exist: set ca_file to the operator's CA "
                        "certificates (PEM)") from None
    except (ssl.SSLError, OSError, ValueError):
        raise TlsFailed(f"the CA bundle {ca_file} holds no readable certificate: it must be PEM "
                        "certificates (-----BEGIN CERTIFICATE-----)") from None
    if not context.get_ca_certs():
        raise TlsFailed(f"the CA bundle {ca_file} holds no CA certificate")


def _load_client_certificate(context: ssl.SSLContext, settings: TlsSettings) -> None:
    cert_path = settings.client_cert
    key_path = settings.client_key or cert_path
    _check_validity(cert_path)
    encrypted = _key_is_encrypted(key_path)
    if not encrypted:
        _check_private(key_path)
    elif settings.key_passphrase is None:
        raise BadClientCertificate(f"the client key {key_path} is encrypted and the account gives no passphrase "
                                   "for it")
    try:
        context.load_cert_chain(str(cert_path), str(key_path),
                                password=settings.key_passphrase if encrypted else None)
    except ssl.SSLError as error:
        reason = (error.reason or "").upper()
        text = reason or str(error).upper()   # a wrong passphrase has no reason, only "[SSL] PEM lib"
        if "KEY_VALUES_MISMATCH" in reason:
            raise BadClientCertificate(f"the client key {key_path} does not belong to the certificate "
                                       f"{cert_path}") from None
        if encrypted and ("DECRYPT" in text or "BAD_PASSWORD" in text or "PEM" in text):
            raise BadClientCertificate(f"the client key {key_path} does not open with its passphrase") from None
        raise BadClientCertificate(f"the client certificate {cert_path} or its key {key_path} cannot be used "
                                   f"({_words(reason) or 'not PEM'})") from None
    except OSError as error:
        raise BadClientCertificate(f"cannot read the client certificate or key ({error.strerror or error})") from None


def _check_validity(cert_path: Path) -> None:
    from cryptography import x509

    try:
        pem = cert_path.read_bytes()
    except OSError as error:
        raise BadClientCertificate(f"cannot read the client certificate {cert_path} "
                                   f"({error.strerror or error})") from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise BadClientCertificate(f"the client certificate {cert_path} is not a PEM certificate") from None
    now = datetime.datetime.now(datetime.timezone.utc)
    if cert.not_valid_after_utc < now:
        raise BadClientCertificate(f"the client certificate {cert_path} expired on "
                                   f"{cert.not_valid_after_utc:%Y-%m-%d}: ask the operator for a new one")
    if cert.not_valid_before_utc > now:
        raise BadClientCertificate(f"the client certificate {cert_path} is valid only from "
                                   f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC: check this computer's clock")


def _key_is_encrypted(key_path: Path) -> bool:
    try:
        head = key_path.read_bytes()[:4096]
    except OSError as error:
        raise BadClientCertificate(f"cannot read the client key {key_path} ({error.strerror or error})") from None
    return b"ENCRYPTED PRIVATE KEY" in head or b"Proc-Type: 4,ENCRYPTED" in head


def _check_private(key_path: Path) -> None:
    """A key in clear is refused when others can read it, as password files are (accounts.py)."""
    if os.stat(key_path).st_mode & 0o077:
        raise BadClientCertificate(f"the client key {key_path} is readable by others: `chmod 600 {key_path}`")


def _words(reason: str) -> str:
    """'TLSV13_ALERT_CERTIFICATE_REQUIRED' -> 'certificate required'."""
    for prefix in ("TLSV13_ALERT_", "TLSV1_ALERT_", "SSLV3_ALERT_"):
        if reason.startswith(prefix):
            reason = reason[len(prefix):]
    return reason.replace("_", " ").lower()
