"""pli.core.transport.tls against real TLS servers on loopback, with certificates from a test CA made here."""
from __future__ import annotations

import socket
import ssl
import threading
from contextlib import contextmanager

import pytest

from pki_fixtures import TestCa, encrypted_key_copy
from pli.core.transport.tls import (BadClientCertificate, ClientCertificateRejected, ExpiredServerCertificate,
                                    HostnameMismatch, TlsFailed, TlsSettings, UntrustedServer, client_context,
                                    tls_failure)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca, clients, other = TestCa(folder / "ca"), TestCa(folder / "clients", "client CA"), TestCa(folder / "other",
                                                                                                 "other CA")
    return {"ca": ca, "clients": clients, "other": other,
            "server": ca.server("server", hosts=("mss.op.test", "localhost", "127.0.0.1")),
            "expired": ca.server("expired", hosts=("localhost", "127.0.0.1"), expired=True),
            "elsewhere": ca.server("elsewhere", hosts=("imap.elsewhere.test",)),
            "app": clients.client("app", "labo-app"),
            "stranger": other.client("stranger", "labo-app")}


@contextmanager
def tls_server(issued, client_ca: TestCa | None = None):
    """A TLS 1.3 server on loopback: answers 'hello <client CN>' to each connection that completes a handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_path, issued.key_path)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca.cert_path)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)   # so that the loop sees `stop` soon after the test
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                try:
                    with context.wrap_socket(conn, server_side=True) as tls:
                        peer = tls.getpeercert() or {}
                        names = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
                        tls.sendall(f"hello {names[0] if names else '-'}\n".encode())
                except (ssl.SSLError, OSError):
                    pass  # the client refused us, or we refused it: the test looks at the client's side

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def talk(port: int, settings: TlsSettings, host: str = "localhost") -> str:
    """What a pli client does: connect, handshake with the account's context, read; ssl errors become typed."""
    context = client_context(settings)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.recv(100).decode()
        except ssl.SSLError as error:
            raise tls_failure(error, f"{host}:{port}", settings) from None


def test_a_server_signed_by_the_configured_ca_is_accepted_and_any_other_refused(pki):
    with tls_server(pki["server"]) as port:
        assert talk(port, TlsSettings(ca_file=pki["ca"].cert_path)) == "hello -\n"
        with pytest.raises(UntrustedServer) as refused:
            talk(port, TlsSettings(ca_file=pki["other"].cert_path))
    message = str(refused.value)
    assert str(pki["other"].cert_path) in message and "ca_file" in message and "\n" not in message


def test_a_configured_bundle_is_the_only_trust_anchor_no_fallback_to_the_system_store(pki, monkeypatch):
    # OpenSSL's default verify paths come from SSL_CERT_FILE: point them at the server's CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"].cert_path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with tls_server(pki["server"]) as port:
        assert talk(port, TlsSettings()) == "hello -\n"      # no bundle: the system store, here the test CA
        with pytest.raises(UntrustedServer):
            talk(port, TlsSettings(ca_file=pki["other"].cert_path))   # a bundle: the system store is not asked


def test_an_expired_server_certificate_is_refused(pki):
    with tls_server(pki["expired"]) as port:
        with pytest.raises(ExpiredServerCertificate, match="has expired"):
            talk(port, TlsSettings(ca_file=pki["ca"].cert_path))


def test_a_certificate_for_another_host_is_refused_even_from_the_right_ca(pki):
    with tls_server(pki["elsewhere"]) as port:
        with pytest.raises(HostnameMismatch, match="another host name"):
            talk(port, TlsSettings(ca_file=pki["ca"].cert_path), host="mss.op.test")


def test_mutual_tls_sends_the_mailbox_certificate(pki):
    app = pki["app"]
    settings = TlsSettings(ca_file=pki["ca"].cert_path, client_cert=app.cert_path, client_key=app.key_path)
    with tls_server(pki["server"], client_ca=pki["clients"]) as port:
        assert talk(port, settings) == "hello labo-app\n"


def test_a_server_that_requires_a_client_certificate_says_so_in_one_line(pki):
    stranger = pki["stranger"]
    with tls_server(pki["server"], client_ca=pki["clients"]) as port:
        with pytest.raises(ClientCertificateRejected, match="has none"):
            talk(port, TlsSettings(ca_file=pki["ca"].cert_path))
        with pytest.raises(ClientCertificateRejected, match="refused the client certificate"):
            talk(port, TlsSettings(ca_file=pki["ca"].cert_path, client_cert=stranger.cert_path,
                                   client_key=stranger.key_path))


def test_an_encrypted_client_key_opens_with_its_passphrase_only(pki, tmp_path):
    app = pki["app"]
    locked = encrypted_key_copy(app, b"correct horse", tmp_path / "app-locked.key")
    locked.chmod(0o644)  # encrypted: readable by others is not a leak
    with tls_server(pki["server"], client_ca=pki["clients"]) as port:
        settings = TlsSettings(ca_file=pki["ca"].cert_path, client_cert=app.cert_path, client_key=locked,
                               key_passphrase=lambda: b"correct horse")
        assert talk(port, settings) == "hello labo-app\n"
    with pytest.raises(BadClientCertificate, match="does not open with its passphrase"):
        client_context(TlsSettings(client_cert=app.cert_path, client_key=locked, key_passphrase=lambda: b"wrong"))
    with pytest.raises(BadClientCertificate, match="gives no passphrase"):
        client_context(TlsSettings(client_cert=app.cert_path, client_key=locked))


def test_a_clear_client_key_readable_by_others_is_refused(pki, tmp_path):
    app = pki["app"]
    loose = tmp_path / "loose.key"
    loose.write_bytes(app.key_path.read_bytes())
    loose.chmod(0o644)
    with pytest.raises(BadClientCertificate, match="chmod 600"):
        client_context(TlsSettings(client_cert=app.cert_path, client_key=loose))


def test_an_expired_or_mismatched_client_certificate_is_refused_before_connecting(pki):
    expired = pki["clients"].client("old-app", "labo-app", expired=True)
    with pytest.raises(BadClientCertificate, match="expired on"):
        client_context(TlsSettings(client_cert=expired.cert_path, client_key=expired.key_path))
    with pytest.raises(BadClientCertificate, match="does not belong to the certificate"):
        client_context(TlsSettings(client_cert=pki["app"].cert_path, client_key=pki["stranger"].key_path))


def test_a_missing_or_empty_ca_bundle_is_named(tmp_path):
    with pytest.raises(TlsFailed, match="does not exist"):
        client_context(TlsSettings(ca_file=tmp_path / "nowhere.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(TlsFailed, match="no readable certificate"):
        client_context(TlsSettings(ca_file=junk))


def test_a_server_that_does_not_speak_tls_is_named(pki):
    listener = socket.create_server(("127.0.0.1", 0))

    def plain_greeting():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"* OK IMAP4rev1 plain text server ready\r\n" * 4)
            conn.recv(1000)

    thread = threading.Thread(target=plain_greeting, daemon=True)
    thread.start()
    try:
        with pytest.raises(TlsFailed, match="did not answer in TLS"):
            talk(listener.getsockname()[1], TlsSettings(ca_file=pki["ca"].cert_path))
    finally:
        listener.close()
        thread.join(5)
