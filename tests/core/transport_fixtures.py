"""Generated peers for the transport tests: keyrings, a gateway config, TLS certificates, free ports, servers."""
from __future__ import annotations

import asyncio
import datetime
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from crypto_fixtures import PASSPHRASE, inner_message, make_keyring, people
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.keyring import trust_public
from pli.core.home import Home

PLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]

__all__ = ["PASSPHRASE", "PLI", "Peers", "Recorder", "free_port", "gateway_config", "in_process_gateway",
           "inner_message", "make_keyring", "people", "seal_mail", "self_signed", "submission_server", "subprocess_gateway",
           "wait_for_port", "write_account"]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each socket stays bound until all are chosen, since a port asked for
    right after another was closed can be that same port again (Dovecot then refuses its configuration
    with "duplicate listener")."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Peers:
    """alice and bob (who trust each other), carol (whom nobody trusts), and a gateway's trust home."""

    def __init__(self, root: Path) -> None:
        self.alice, self.bob = people(root, "alice", "bob")
        self.carol = make_keyring(root, "carol", 3)
        self.carol.import_public(self.bob.identity.public)       # carol can seal to bob; bob's side does not know her
        self.gateway_home = Home(root / "gateway")
        trust_public(self.gateway_home, self.alice.identity.public)
        trust_public(self.gateway_home, self.bob.identity.public)

    def sealed(self, sender=None, to=("bob@pli.test",), subject: str = "K+ 6.8 mmol/L") -> bytes:
        unique = f"<{os.urandom(8).hex()}@pli.test>".encode()   # the store keeps one message per Message-ID
        inner = inner_message(subject=subject).replace(b"<inner-1@pli.test>", unique)
        return seal_mail(inner, sender or self.alice, list(to))


def self_signed(folder: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A throwaway certificate for `host` and 127.0.0.1 (generated at test time)."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def trace_key(folder: Path) -> Path:
    path = folder / "gateway-trace.key"
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def gateway_config(folder: Path, peers: Peers, *, trace: bool = True, tls: tuple[Path, Path] | None = None,
                   tls_required: bool = False, delivery: dict | None = None, aliases: dict | None = None,
                   **limits) -> Path:
    """A gateway config: bob's and carol's public addresses map to opaque mailbox names."""
    folder.mkdir(parents=True, exist_ok=True)
    section = {
        "domain": "pli.test", "hostname": "mx.pli.test", "trust_home": str(peers.gateway_home.root),
        "delivery": delivery or {"kind": "maildir", "root": str(folder / "mailboxes")},
        "aliases": aliases or {"bob@pli.test": "mbox-7f3a91", "carol@pli.test": "mbox-c4r01"},
        "timeout_seconds": 5,
        **limits,
    }
    if trace:
        section["trace_key"] = str(trace_key(folder))
        section["trace_home"] = str(folder / "trace-home")
    if tls:
        section["tls"] = {"cert": str(tls[0]), "key": str(tls[1]), "require": tls_required}
    path = folder / "gateway.toml"
    path.write_text(tomli_w.dumps({"gateway": section}))
    return path


@contextmanager
def in_process_gateway(config_path: Path, port: int = 0):
    """The gateway's aiosmtpd server on a loopback port, in a thread of this process: yields the port."""
    from pli.core.transport.gateway import make_factory
    from pli.core.transport.gateway_config import load_gateway_config
    from pli.core.transport.trace import TraceBatcher, gateway_journal

    config = load_gateway_config(config_path)
    trace = (TraceBatcher(gateway_journal(config.trace_home, config.trace_key, "gateway@pli.test"))
             if config.trace_key else None)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(make_factory(config, trace), "127.0.0.1", port))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        async def stop():
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@contextmanager
def subprocess_gateway(config_path: Path, port: int, workers: int = 1):
    """`pli gateway serve` as a real process; yields the Popen (tests may SIGKILL it)."""
    proc = start_gateway(config_path, port, workers)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def start_gateway(config_path: Path, port: int, workers: int = 1) -> subprocess.Popen:
    env = dict(os.environ, PLI_GATEWAY_LOG="WARNING")
    proc = subprocess.Popen([*PLI, "gateway", "serve", "--listen", f"127.0.0.1:{port}", "--config",
                             str(config_path), "--workers", str(workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wait_for_port(port, proc=proc)
    return proc


class Recorder:
    """An aiosmtpd handler that keeps what it accepts (a stand-in submission server for AUTH/TLS tests)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return f"250 2.0.0 Ok: queued as SUB{len(self.messages):04d}"


class DsnRecorder(Recorder):
    """A Recorder whose server offers DSN (RFC 3461) and keeps the DSN parameters of each MAIL and RCPT command."""

    DSN_PARAMETERS = ("ENVID", "RET", "NOTIFY", "ORCPT")

    def __init__(self) -> None:
        super().__init__()
        self.dsn: list[dict] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [*responses[:-1], "250-DSN", responses[-1]]

    def smtp_class(self):
        from aiosmtpd.smtp import SMTP

        recorder = self

        class DsnSmtp(SMTP):
            def _getparams(self, params):      # aiosmtpd knows no DSN parameter: kept here, out of its way
                found = super()._getparams(params)
                if found is not None:
                    recorder.dsn.append({k: found.pop(k) for k in recorder.DSN_PARAMETERS if k in found})
                return found

        return DsnSmtp


@contextmanager
def submission_server(implicit_tls=None, login: tuple[str, str] | None = None, port: int = 0, dsn: bool = False):
    """An SMTP submission server on loopback (aiosmtpd): optional implicit TLS and AUTH; yields (port, recorder).

    Without `login` it offers no AUTH; with it, AUTH PLAIN is required (in clear too: loopback tests).
    `port`: a given one (an account already names it), else any free one.  `dsn`: it offers DSN and the
    recorder (DsnRecorder) keeps the parameters (aiosmtpd upper-cases them, as it reads every parameter).
    """
    from aiosmtpd.smtp import SMTP as PLAIN_SMTP, AuthResult

    recorder = DsnRecorder() if dsn else Recorder()
    SMTP = recorder.smtp_class() if dsn else PLAIN_SMTP

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = login is not None and (auth_data.login.decode(), auth_data.password.decode()) == login
        return AuthResult(success=ok, handled=False)

    def factory():
        if login is None:     # a relay that offers no AUTH at all (aiosmtpd offers none in clear by default)
            return SMTP(recorder, hostname="submit.pli.test")
        return SMTP(recorder, hostname="submit.pli.test", authenticator=authenticator, auth_required=True,
                    auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", port, ssl=implicit_tls))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port, recorder
    finally:
        async def stop():
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@asynccontextmanager
async def submission_server_off_loop():
    """submission_server (its own loop, in a thread) entered off the caller's event loop: for Pilot tests."""
    server = submission_server()
    port, recorder = await asyncio.to_thread(server.__enter__)
    try:
        yield port, recorder
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


def write_account(home: Home, name: str = "cabinet", **fields) -> None:
    """Append an [accounts.NAME] section to the home's config.toml."""
    home.root.mkdir(parents=True, exist_ok=True)
    text = home.config.read_text() if home.config.exists() else ""
    home.config.write_text(text + "\n" + tomli_w.dumps({"accounts": {name: fields}}))


class Dovecot:
    """A throwaway Dovecot (IMAP + LMTP) on loopback ports, its config generated, started and stopped here.

    CI runs as root with no services: the instance runs in the foreground (-F)
    from its own base_dir, mail owned by an unprivileged system user (Dovecot
    refuses uid 0 for mail), users in a passwd-file with plain passwords.

    The MSSanté operator of dovecot_fixtures (OperatorDovecot) is one of these with TLS, submission and more
    logins: the folder, the mail owner, the passwd file, the shared parts of the configuration and the start-stop
    path are written once, here.
    """

    USERS = {"bob": "bob-imap-secret"}
    PREFIX = "pli-dovecot-"

    def __init__(self) -> None:
        self._prepare()
        self.imap_port, self.lmtp_port = free_ports(2)
        self._write_config()

    def _prepare(self) -> None:
        """The folder (not under pytest's tmp_path: its folders are 0700 and Dovecot's auth and mail processes
        run as unprivileged users that must reach the passwd file and the mail), the mail and its owner, the
        passwd file of USERS."""
        import shutil
        import tempfile

        self.root = root = Path(tempfile.mkdtemp(prefix=self.PREFIX))
        root.chmod(0o755)
        self.uid, self.gid = mail_owner()
        self.mail = root / "mail"
        self.mail.mkdir(mode=0o755, exist_ok=True)
        os.chown(self.mail, self.uid, self.gid)
        (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.USERS.items()))
        self.binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.proc: subprocess.Popen | None = None

    def _write_config(self) -> None:
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(self._config())

    def _config(self) -> str:
        return f"""{self._head(f"pli-test-{self.imap_port}")}protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{self.mail}/%u
lmtp_save_to_detail_mailbox = no
{self._run_as()}
{self._passwd_db()}
{self._user_db()}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{self._lmtp_service()}
{self._housekeeping()}
"""

    # -- the parts of the configuration every test Dovecot shares ----------------------------------------------

    def _head(self, instance: str) -> str:
        """Its own folders and log, one instance name per server, loopback only."""
        return f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = {instance}
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
"""

    @staticmethod
    def _run_as() -> str:
        """The users Dovecot's login and internal processes run as: its own when run by root, else the caller."""
        if os.geteuid() == 0:
            login_user = "dovenull" if _has_user("dovenull") else "nobody"
            internal_user = "dovecot" if _has_user("dovecot") else "nobody"
        else:
            login_user = internal_user = pwd_name(os.getuid())
        return f"default_login_user = {login_user}\ndefault_internal_user = {internal_user}"

    def _passwd_db(self, mechanisms: str = "") -> str:
        """USERS and their plain passwords (only for `mechanisms`, when named)."""
        only = f"\n  mechanisms = {mechanisms}" if mechanisms else ""
        return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {self.root}/passwd{only}
}}"""

    def _user_db(self, more: str = "") -> str:
        """Every user's mail owned by the mail owner, under mail/<user>."""
        return f"""userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.mail}/%n{more}
}}"""

    def _lmtp_service(self) -> str:
        return f"""service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}"""

    @staticmethod
    def _housekeeping(anvil: str = "") -> str:
        """anvil and stats unchrooted (no services, maybe no root), with `anvil`'s own settings."""
        return f"""service anvil {{
  chroot ={anvil}
}}
service stats {{
  chroot =
}}"""

    # -- start and stop -------------------------------------------------------------------------------------------

    def ports(self) -> tuple[int, ...]:
        """The ports it listens on: started when each takes a connection."""
        return self.imap_port, self.lmtp_port

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self):
        self.proc = subprocess.Popen([self.binary, "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        try:
            for port in self.ports():
                wait_for_port(port, proc=self.proc)
        except (RuntimeError, TimeoutError):
            log = self.log()              # before stop() removes the folder
            self.stop()
            raise RuntimeError(f"dovecot did not start: {log}")
        return self

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        import shutil
        shutil.rmtree(self.root, ignore_errors=True)

    def maildir(self, user: str) -> Path:
        return self.mail / user


def mail_owner() -> tuple[int, int]:
    """Who owns the test mail: Dovecot refuses uid 0, so root hands it to the dovecot (or nobody) user."""
    import pwd

    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    user = pwd.getpwnam("dovecot") if _has_user("dovecot") else pwd.getpwnam("nobody")
    return user.pw_uid, user.pw_gid


def _has_user(name: str) -> bool:
    import pwd
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def pwd_name(uid: int) -> str:
    import pwd
    return pwd.getpwuid(uid).pw_name
