"""A test PKI made at test time: a CA, server certificates (valid, expired, for another host) and client ones.

Stands in for the health PKI (IGC-Santé) an MSSanté operator's servers and
application mailboxes use: tests point pli's CA bundle at `TestCa.cert_path`
and Dovecot's `ssl_ca` at the CA that signs client certificates.
"""
from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_NOW = datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, written as PEM files (the key 0600)."""

    cert_path: Path
    key_path: Path
    cert: x509.Certificate


class TestCa:
    """A certificate authority that writes what it issues into `folder`."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, name: str = "pli test CA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(_NOW - datetime.timedelta(days=1))
                     .not_valid_after(_NOW + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                                    critical=False)
                     .sign(self.key, hashes.SHA256()))
        slug = name.replace(" ", "-")
        self.cert_path = folder / f"{slug}.pem"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def server(self, name: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
               expired: bool = False) -> Issued:
        """A server certificate for `hosts` (DNS names and IP addresses), valid now unless `expired`."""
        names = [x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts]
        return self._issue(name, hosts[0], expired, ExtendedKeyUsageOID.SERVER_AUTH,
                           x509.SubjectAlternativeName(names))

    def client(self, name: str, common_name: str, expired: bool = False) -> Issued:
        """A client certificate whose common name is the mailbox login (Dovecot's ssl_cert_username_field)."""
        return self._issue(name, common_name, expired, ExtendedKeyUsageOID.CLIENT_AUTH, None)

    def _issue(self, name: str, common_name: str, expired: bool, usage, alternative) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        start, end = ((_NOW - datetime.timedelta(days=10), _NOW - datetime.timedelta(days=1)) if expired
                      else (_NOW - datetime.timedelta(minutes=5), _NOW + datetime.timedelta(days=2)))
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        if alternative is not None:
            builder = builder.add_extension(alternative, critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return Issued(cert_path, key_path, cert)


def encrypted_key_copy(issued: Issued, passphrase: bytes, path: Path) -> Path:
    """The key of `issued` re-written as an encrypted PKCS#8 PEM (what a sealed client key looks like on disk)."""
    key = serialization.load_pem_private_key(issued.key_path.read_bytes(), None)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(passphrase)))
    return path


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
