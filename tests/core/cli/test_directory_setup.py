"""Setting up a small network from the command line, as an authority and an operator do it: `pli dir bind`
takes the file `pli keys export-public` writes, `pli keys group-export-public`, a practitioner served by a
proxy listed without keys of her own (mail to her sealed to the proxy), and `pli keys import-public` in a
gateway's trust home that has no keyring."""
from __future__ import annotations

import json
import os
import smtplib
import subprocess
from types import SimpleNamespace

from pli.core.crypto.envelope import open_mail, seal_mail
from pli.core.crypto.identity import PublicIdentity
from pli.core.directory.authority import load_entries, save_entries
from pli.core.directory.entry import from_json
from pli.core.home import Home
from pli.core.transport.submission import crlf
from crypto_fixtures import PASSPHRASE, inner_message, make_keyring, passphrase_file
from transport_fixtures import PLI, gateway_config, in_process_gateway

PERSON, MEMBER, PROXY = "10000000001", "10000000041", "690000001"


def pli(home: Home, *args, stdin: bytes | None = None, passphrase=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PLI_PASSPHRASE_FILE", None)
    if passphrase is not None:
        env["PLI_PASSPHRASE_FILE"] = str(passphrase)
    return subprocess.run([*PLI, "--home", str(home.root), *args], input=stdin, capture_output=True, env=env,
                          timeout=60)


def authority(tmp_path, *entries: dict):
    """An authority folder (its key made by `pli dir authority init`) and an entries file holding `entries`."""
    folder = tmp_path / "authority"
    made = pli(Home(tmp_path / "authority-home"), "dir", "authority", "init", "--authority", str(folder))
    assert made.returncode == 0, made.stderr
    save_entries(folder / "entries.json", [from_json(e) for e in entries])
    return folder


def dir_cmd(folder, *args) -> subprocess.CompletedProcess:
    return pli(Home(folder.parent / "authority-home"), "dir", *args, "--authority", str(folder))


def publish(folder, home: Home) -> None:
    """Sign the entries and install the directory in `home` (trusting the authority first)."""
    signed = folder / "directory.pli"
    assert dir_cmd(folder, "sign", str(folder / "entries.json"), "-o", str(signed)).returncode == 0
    assert pli(home, "dir", "trust", str(folder / "authority.pub")).returncode == 0
    done = pli(home, "dir", "import", str(signed))
    assert done.returncode == 0, done.stderr


def sealed_through_directory(tmp_path, folder, sender, address: str, reader):
    """`sender` installs the authority's directory, seals to `address` with `pli seal`; `reader` opens it."""
    publish(folder, sender.home)
    secret = passphrase_file(tmp_path / "passphrase")
    sealed = pli(sender.home, "seal", "--to", address, stdin=inner_message(), passphrase=secret)
    assert sealed.returncode == 0, sealed.stderr
    reader.import_public(sender.identity.public)
    return open_mail(sealed.stdout, reader)


def test_dir_bind_takes_the_file_keys_export_public_writes(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    exported = pli(alice.home, "keys", "export-public")
    assert exported.returncode == 0
    (tmp_path / "alice.json").write_bytes(exported.stdout)
    folder = authority(tmp_path, {"id": PERSON, "kind": "person", "name": "Dr Alice"})
    other = dir_cmd(folder, "bind", PERSON, str(tmp_path / "alice.json"), "--address", "someone@pli.test")
    assert other.returncode == 1 and len(other.stderr.splitlines()) == 1
    assert b"is the identity of alice@pli.test, not of someone@pli.test" in other.stderr
    bound = dir_cmd(folder, "bind", PERSON, str(tmp_path / "alice.json"))
    assert bound.returncode == 0, bound.stderr
    [entry] = load_entries(folder / "entries.json")
    me = alice.identity.public
    assert entry.addresses == ("alice@pli.test",)
    assert entry.current_key("ed25519").key.raw == me.sign_public
    assert entry.current_key("x25519").key.raw == me.agree_public
    # the directory now reaches her: a stranger seals to her from it, and she opens it
    bob = make_keyring(tmp_path, "bob", 2)
    opened = sealed_through_directory(tmp_path, folder, bob, "alice@pli.test", alice)
    assert opened.sender_address == "bob@pli.test"


def test_keys_group_export_public_writes_the_group_public_identity(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    group = alice.create_group("cab-tilleuls", "tilleuls@pli.test", "Cabinet des Tilleuls")
    exported = pli(alice.home, "keys", "group-export-public", "Tilleuls@pli.test")
    assert exported.returncode == 0, exported.stderr
    public = PublicIdentity.parse(exported.stdout)
    assert public == group.public and public.kind == "group" and public.sign_public is None
    assert b"secret" not in exported.stdout.lower() and group.agree_secret not in exported.stdout
    (tmp_path / "group.json").write_bytes(exported.stdout)
    bob = make_keyring(tmp_path, "bob", 2)
    imported = pli(bob.home, "keys", "import-public", str(tmp_path / "group.json"))
    assert imported.returncode == 0 and b"imported group tilleuls@pli.test" in imported.stdout
    folder = authority(tmp_path, {"id": "cab-tilleuls", "kind": "group", "name": "Cabinet des Tilleuls"})
    assert dir_cmd(folder, "bind", "cab-tilleuls", str(tmp_path / "group.json")).returncode == 0
    [entry] = load_entries(folder / "entries.json")
    assert [k.key.alg for k in entry.keys] == ["x25519"] and entry.addresses == ("tilleuls@pli.test",)
    unknown = pli(alice.home, "keys", "group-export-public", "nope@pli.test")
    assert unknown.returncode == 1
    assert unknown.stderr == b"pli: this home belongs to no group nope@pli.test (its groups: tilleuls@pli.test); " \
                             b"see `pli keys show`\n"


def test_a_member_served_by_a_proxy_is_listed_without_keys_and_mail_to_her_is_sealed_to_the_proxy(tmp_path):
    proxy = make_keyring(tmp_path, "hopital", 9, kind="proxy", serves=("dr.p@pli.test",))
    (tmp_path / "proxy.json").write_bytes(pli(proxy.home, "keys", "export-public").stdout)
    folder = authority(tmp_path, {"id": MEMBER, "kind": "person", "name": "Dr Pauline P"})
    assert dir_cmd(folder, "group", PROXY, "--kind", "proxy", "--name", "Hôpital Nord", "--member",
                   MEMBER).returncode == 0
    assert dir_cmd(folder, "bind", PROXY, str(tmp_path / "proxy.json")).returncode == 0
    member = dir_cmd(folder, "bind", MEMBER, "--address", "dr.p@pli.test")
    assert member.returncode == 0, member.stderr
    assert member.stdout.decode().splitlines() == [f"{MEMBER} Dr Pauline P: no keys of its own; addresses "
                                                   "dr.p@pli.test", "mail to it is sealed to the proxy Hôpital Nord"]
    nothing = dir_cmd(folder, "bind", MEMBER)
    assert nothing.returncode == 1 and b"nothing to bind" in nothing.stderr
    alice = make_keyring(tmp_path, "alice", 1)
    opened = sealed_through_directory(tmp_path, folder, alice, "dr.p@pli.test", proxy)
    assert opened.sender_address == "alice@pli.test" and "dr.p@pli.test" in opened.recipients
    assert b"Result attached." in opened.inner


def test_import_public_works_in_a_gateway_trust_home_without_a_keyring(tmp_path):
    alice, bob = make_keyring(tmp_path, "alice", 1), make_keyring(tmp_path, "bob", 2)
    alice.import_public(bob.identity.public)
    trust_home = Home(tmp_path / "gateway")
    for who in (alice, bob):
        path = tmp_path / f"{who.identity.public.address}.json"
        path.write_bytes(who.export_public())
        done = pli(trust_home, "keys", "import-public", str(path))
        assert done.returncode == 0, done.stderr
    assert not (trust_home.keyring / "secrets").exists()
    stored = json.loads((trust_home.keyring / "correspondents.json").read_bytes())
    assert sorted(c["address"] for c in stored) == ["alice@pli.test", "bob@pli.test"]
    assert oct((trust_home.keyring / "correspondents.json").stat().st_mode & 0o777) == "0o600"

    # the gateway trusts what was imported there: alice's mail to bob is accepted
    with in_process_gateway(gateway_config(tmp_path / "gw", SimpleNamespace(gateway_home=trust_home))) as port:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("alice@pli.test")
            smtp.rcpt("bob@pli.test")
            code, reply = smtp.data(crlf(seal_mail(inner_message(), alice, ["bob@pli.test"])))
    assert code == 250, reply
