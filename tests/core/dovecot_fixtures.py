"""A Dovecot that speaks like an MSSanté operator's servers, on loopback ports, for the account tests.

    pki = TestCa(tmp / "pki")
    with OperatorDovecot(pki.server("mss-server"), oauth_key=KEY) as server:
        server.imaps_port, server.imap_port (STARTTLS), server.lmtp_port,
        server.submissions_port (implicit TLS), server.submission_port (STARTTLS) -> relays to server.sink

- TLS only for logins (`disable_plaintext_auth`), certificates from a test CA
  made at test time (pki_fixtures.TestCa);
- password logins (passwd-file, PLAIN/LOGIN), token logins (the oauth2 passdb
  validating JWTs locally: `introspection_mode = local`, HS256 key in a
  `fs:posix` key dictionary, as Dovecot 2.3 reads it from
  `<azp>/<alg>/<kid>`), and, with `client_ca`, client-certificate
  logins: `ssl_verify_client_cert`, `auth_ssl_require_client_cert`, the
  mailbox taken from the certificate's common name (SASL EXTERNAL);
- submission through dovecot-submissiond, relaying to an aiosmtpd sink that
  keeps what it receives.

Like transport_fixtures.Dovecot it runs in the foreground from its own
base_dir (CI runs as root with no services) and is stopped by its test.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pki_fixtures import Issued, TestCa
from transport_fixtures import Dovecot, Recorder, free_ports, mail_owner

ISSUER = "https://idp.pli.test"


def make_jwt(key: bytes, sub: str, *, lifetime: int = 300, issuer: str = ISSUER, not_before: int = 0) -> str:
    """An HS256 JWT as an identity provider would issue it (RFC 7519): typ, alg; sub, iss, iat, exp."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "HS256"}
    claims = {"sub": sub, "iss": issuer, "iat": now - 5, "exp": now + lifetime}
    if not_before:
        claims["nbf"] = not_before
    signing = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OperatorDovecot(Dovecot):
    """See the module docstring.  USERS log in with passwords; any JWT signed with `oauth_key` logs its `sub` in.

    Its folder, passwd file, the shared parts of its configuration and its start and stop are the plain test
    Dovecot's (transport_fixtures.Dovecot)."""

    USERS = {"dr.martin": "martin-imap-secret", "secretariat": "secretariat-secret"}

    def __init__(self, server_cert: Issued, *, oauth_key: bytes | None = None, client_ca: TestCa | None = None,
                 hostname: str = "mss.op.test", certs_by_name: dict[str, Issued] | None = None) -> None:
        """`certs_by_name`: other certificates, served to clients that ask for that name (SNI, `local_name`)."""
        from aiosmtpd.controller import Controller

        self._prepare()
        root = self.root
        self.hostname = hostname
        self.client_ca = client_ca
        self.oauth_key = oauth_key
        (self.imaps_port, self.imap_port, self.lmtp_port,
         self.submissions_port, self.submission_port, self.relay_port) = free_ports(6)
        for source, name in ((server_cert.cert_path, "server.pem"), (server_cert.key_path, "server.key")):
            shutil.copyfile(source, root / name)
        if client_ca is not None:
            shutil.copyfile(client_ca.cert_path, root / "client-ca.pem")
        self.certs_by_name = certs_by_name or {}
        for index, issued in enumerate(self.certs_by_name.values()):
            shutil.copyfile(issued.cert_path, root / f"named-{index}.pem")
            shutil.copyfile(issued.key_path, root / f"named-{index}.key")
        if oauth_key is not None:
            self._write_oauth(oauth_key)
        self.sink = Recorder()
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.relay_port)
        self._write_config()

    def ports(self) -> tuple[int, ...]:
        return self.imaps_port, self.imap_port, self.lmtp_port, self.submissions_port, self.submission_port

    def start(self) -> "OperatorDovecot":
        self._controller.start()          # the relay first: submission relays to it
        return super().start()

    def stop(self) -> None:
        super().stop()
        try:
            self._controller.stop()
        except (AssertionError, RuntimeError):
            pass  # never started

    def _write_oauth(self, key: bytes) -> None:
        # Dovecot 2.3 looks the HMAC key up as shared/<azp>/<alg>/<kid> (no azp claim and no kid in the
        # header give "default" for both); the fs dict drops "shared/" and reads <prefix><azp>/<alg>/<kid>.
        # The value is the key in base64.
        folder = self.root / "keys" / "default" / "HS256"
        folder.mkdir(parents=True)
        (folder / "default").write_bytes(base64.b64encode(key))
        for path in (self.root / "keys", folder.parent, folder):
            path.chmod(0o755)
        (self.root / "oauth2.conf.ext").write_text(
            "introspection_mode = local\n"
            f"local_validation_key_dict = fs:posix:prefix={self.root}/keys/\n"
            "username_attribute = sub\n"
            f"issuers = {ISSUER}\n"
            "active_attribute =\n"
            "active_value =\n")

    def _named_certs(self) -> str:
        return "".join(f"""local_name {name} {{
  ssl_cert = <{self.root}/named-{index}.pem
  ssl_key = <{self.root}/named-{index}.key
}}
""" for index, name in enumerate(self.certs_by_name))

    def _config(self) -> str:
        mechanisms = ["plain", "login"]
        passdbs = [self._passwd_db("plain login")]
        if self.oauth_key is not None:
            mechanisms += ["xoauth2", "oauthbearer"]
            passdbs.append(f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {self.root}/oauth2.conf.ext
}}""")
        client_cert = ""
        if self.client_ca is not None:
            mechanisms.append("external")
            # The CA is the gate: any mailbox named by a certificate it signed may log in.
            passdbs.append("""passdb {
  driver = static
  args = nopassword=y
  mechanisms = external
}""")
            client_cert = f"""ssl_ca = <{self.root}/client-ca.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
auth_ssl_require_client_cert = yes
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
"""
        return f"""{self._head(f"pli-mss-{self.imaps_port}")}hostname = {self.hostname}
protocols = imap lmtp submission
ssl = yes
ssl_cert = <{self.root}/server.pem
ssl_key = <{self.root}/server.key
ssl_min_protocol = TLSv1.2
{client_cert}disable_plaintext_auth = yes
auth_verbose = yes
auth_failure_delay = 0
auth_mechanisms = {' '.join(mechanisms)}
first_valid_uid = 1
mail_location = maildir:{self.mail}/%n
lmtp_save_to_detail_mailbox = no
{self._run_as()}
submission_relay_host = 127.0.0.1
submission_relay_port = {self._controller.port}
submission_relay_ssl = no
submission_relay_trusted = no
{chr(10).join(passdbs)}
{self._named_certs()}
{self._user_db(" allow_all_users=yes")}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service submission-login {{
  inet_listener submission {{
    address = 127.0.0.1
    port = {self.submission_port}
  }}
  inet_listener submissions {{
    address = 127.0.0.1
    port = {self.submissions_port}
    ssl = yes
  }}
}}
{self._lmtp_service()}
{self._housekeeping(_NO_PENALTY)}
"""


# No growing delay after failed logins from 127.0.0.1: the tests fail logins on purpose.
_NO_PENALTY = """
  unix_listener anvil-auth-penalty {
    mode = 0
  }"""


# -- an MSSanté account of pli against this operator (core/transport/mssante_account.py) ----------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))     # a JSON string is a TOML basic string


def mss_account(home_root: Path, name: str = "mss", **keys):
    """Write [accounts.NAME] into a home's config.toml, read it as pli does; (MssAccount or None, raw table)."""
    from pli.core.config import config_section
    from pli.core.home import Home
    from pli.core.transport.accounts import load_accounts
    from pli.core.transport.mssante_account import mssante_account

    home_root.mkdir(parents=True, exist_ok=True)
    home = Home(home_root)
    lines = [f"[accounts.{name}]"] + [f"{key} = {toml_value(value)}" for key, value in keys.items()]
    home.config.write_text("\n".join(lines) + "\n")
    table = config_section(home.config, "accounts")[name]
    return mssante_account(load_accounts(home)[name], table, f"{home.config} [accounts.{name}]"), table


def token_helper(folder: Path, token: str) -> Path:
    """A token command as a practitioner's helper would be: prints the access token and exits 0."""
    folder.mkdir(parents=True, exist_ok=True)
    helper = folder / "get-token"
    helper.write_text(f"#!/bin/sh\necho '{token}'\n")
    helper.chmod(0o700)
    return helper


def relayed_to(server: "OperatorDovecot", marker: bytes, timeout: float = 10) -> tuple[str, list[str], bytes]:
    """The one message the operator's submission relayed whose bytes hold `marker` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in server.sink.messages if marker in m[2]]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the operator relayed no such message")


def deliver(server: "OperatorDovecot", sender: str, mailbox: str, data: bytes) -> None:
    """Deliver into a mailbox over LMTP, as the recipient's operator does with relayed mail."""
    import smtplib

    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=10) as lmtp:
        lmtp.sendmail(sender, [mailbox], data)


def fetch_marked(imap, marker: str) -> bytes:
    """The raw bytes of the one INBOX message whose subject holds `marker` (read-only, nothing flagged)."""
    imap.select("INBOX", readonly=True)
    _, found = imap.uid("SEARCH", "SUBJECT", f'"{marker}"')
    [uid] = found[0].split()
    _, data = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
    return data[0][1]


def operator_pki(folder: Path) -> dict[str, TestCa]:
    """The operator's server CA, the CA of application mailboxes' certificates, and a stranger's CA."""
    return {"ca": TestCa(folder / "ca"), "clients": TestCa(folder / "clients", "mailbox CA"),
            "other": TestCa(folder / "other", "other CA")}


def token_account(server: "OperatorDovecot", home: Path, user: str, ca: TestCa, mechanism: str = "oauthbearer"):
    """An MSSanté account of `user` on `server` (implicit TLS, `localhost`) logging in with a token command."""
    helper = token_helper(home / "bin", make_jwt(server.oauth_key, user))
    account, _ = mss_account(home, address=f"{user}@op.mssante.test", mssante=True, auth=mechanism,
                             username=user, token_command=[str(helper)], ca_file=str(ca.cert_path),
                             imap_host="localhost", imap_port=server.imaps_port, smtp_host="localhost",
                             smtp_port=server.submissions_port)
    return account


# -- a delivery report written by Dovecot itself ----------------------------------------------------------------

LDA = "/usr/lib/dovecot/dovecot-lda"


def lda_rejection(folder: Path, raw: bytes, sender: str, recipient: str) -> bytes:
    """The report Dovecot's LDA (dovecot-lda) writes back to `sender` when it rejects `raw` for `recipient`
    because the mailbox is over its quota (quota plugin, 1 KB, `quota_full_tempfail = no`): the mail it hands
    to `sendmail_path`, caught here by a script.  LMTP and submission answer such errors in the SMTP session;
    the LDA is the part of Dovecot that writes a report."""
    if not os.path.exists(LDA):
        import pytest

        pytest.skip("dovecot-lda is not installed")
    folder.mkdir(parents=True)
    (folder / "run").mkdir()
    (folder / "mail" / "full").mkdir(parents=True)
    caught = folder / "report.eml"
    catcher = folder / "sendmail"
    catcher.write_text(f"#!/bin/sh\ncat > {caught}\n")
    catcher.chmod(0o755)
    (folder / "lda.conf").write_text(f"""base_dir = {folder}/run
log_path = {folder}/lda.log
mail_location = maildir:{folder}/mail/%n
first_valid_uid = 1
mail_plugins = quota
quota_full_tempfail = no
sendmail_path = {catcher}
postmaster_address = postmaster@op.mssante.test
hostname = op.mssante.test
plugin {{
  quota = maildir:User quota
  quota_rule = *:storage=1K
}}
""")
    command = [LDA, "-c", str(folder / "lda.conf"), "-f", sender, "-a", recipient]
    if os.geteuid() == 0:          # the LDA refuses root: it runs as the mail owner, as a local delivery would
        uid, gid = mail_owner()
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, gid)
        for parent in folder.parents:       # pytest's tmp folders are 0700: let the mail owner through
            if parent == Path(tempfile.gettempdir()):
                break
            parent.chmod(parent.stat().st_mode | 0o111)
        command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]
    done = subprocess.run(command, input=raw, capture_output=True, timeout=30,
                          env={"USER": "full", "HOME": str(folder / "mail" / "full"), "PATH": os.environ["PATH"]})
    if done.returncode != 0 or not caught.exists():
        log = (folder / "lda.log").read_text(errors="replace") if (folder / "lda.log").exists() else ""
        raise RuntimeError(f"dovecot-lda wrote no rejection (exit {done.returncode}): {done.stderr!r} {log}")
    return caught.read_bytes()
