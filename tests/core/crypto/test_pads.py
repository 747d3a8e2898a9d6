"""Pads: drawn, sealed at rest, carried to the other holders, read by range; lanes keep holders apart."""
import stat

import pytest

from pli.core.crypto.keyring import Keyring
from pli.core.crypto.pads import CHUNK, PadError, parse_size
from pli.core.crypto.pairing import share_group, share_pad

from crypto_fixtures import PASSPHRASE, people


def test_holders_read_the_same_bytes_after_transport(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 3 * CHUNK + 123)
    for offset, length in [(0, 10), (CHUNK - 5, 10), (CHUNK * 2 - 1, CHUNK + 2), (pad.size - 7, 7), (5, 0)]:
        assert alice.pads.read(pad.id, offset, length) == bob.pads.read(pad.id, offset, length)
    assert len(alice.pads.read(pad.id, 0, pad.size)) == pad.size
    assert bob.pads.info(pad.id) == pad


def test_ranges_read_in_any_order_match_one_whole_read(tmp_path):
    """The last decrypted chunk is kept for the next read (a batch import reads neighbouring
    ranges): whatever the order, every range must give the bytes of the whole pad at that place."""
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 3 * CHUNK + 123)
    whole = bytes(Keyring.unlock(alice.home, PASSPHRASE).pads.read(pad.id, 0, pad.size))
    ranges = [(10, 20), (40, 8), (CHUNK - 3, 9), (5, 3), (2 * CHUNK + 1, CHUNK), (CHUNK + 7, 1),
              (0, pad.size), (pad.size - 1, 1), (CHUNK + 7, 2 * CHUNK)]
    for offset, length in ranges:
        assert bytes(bob.pads.read(pad.id, offset, length)) == whole[offset:offset + length]

def test_pad_files_are_private_and_hold_no_pad_bytes_in_clear(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 8192)
    path = alice.pads.path(pad.id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert alice.pads.read(pad.id, 100, 64) not in path.read_bytes()
    assert alice.pads.read(pad.id, 100, 64) not in alice.export_pad(pad.id, "bob@pli.test")


def test_pads_need_the_keyring_to_open(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 8192)
    again = Keyring.unlock(alice.home, PASSPHRASE)
    assert again.pads.read(pad.id, 0, 32) == alice.pads.read(pad.id, 0, 32)
    assert [p.id for p in bob.pads.list()] == [pad.id]


def test_lanes_split_the_pad_between_holders(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    pad = share_pad(alice, [bob, carol], 9000)
    assert pad.holders == ("alice@pli.test", "bob@pli.test", "carol@pli.test")
    assert [pad.lane_bounds(i) for i in range(3)] == [(0, 3000), (3000, 6000), (6000, 9000)]
    assert pad.lane_of("carol@pli.test") == 2 and pad.lane_of("dave@pli.test") is None


def test_a_transport_file_for_someone_else_or_damaged_is_refused(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    pad = alice.new_pad(["bob@pli.test"], 8192)
    data = alice.export_pad(pad.id, "bob@pli.test")
    with pytest.raises(PadError, match="another holder"):
        carol.import_pad(data)
    with pytest.raises(PadError):
        bob.import_pad(data[:-1] + bytes([data[-1] ^ 1]))   # a pad byte altered in transit
    with pytest.raises(PadError):
        bob.import_pad(data[:60] + bytes([data[60] ^ 1]) + data[61:])   # the sealed header altered
    with pytest.raises(PadError):
        bob.import_pad(b"not a pad")
    with pytest.raises(PadError, match="not a holder"):
        alice.export_pad(pad.id, "carol@pli.test")
    assert bob.pads.list() == []


def test_every_group_member_imports_the_groups_copy(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    share_group(bob, [carol], "cab-1", "cabinet@pli.test", "Cabinet")
    from pli.core.crypto.pairing import introduce

    introduce(alice, bob, carol)
    pad = share_pad(alice, [bob, carol], 8192, holders=["cabinet@pli.test"])
    assert pad.holders == ("alice@pli.test", "cabinet@pli.test")
    assert bob.pads.read(pad.id, 0, 64) == carol.pads.read(pad.id, 0, 64) == alice.pads.read(pad.id, 0, 64)


def test_sizes_parse_with_units():
    assert parse_size("64M") == 64 << 20 and parse_size("1G") == 1 << 30 and parse_size("8192") == 8192
    assert parse_size("512KiB") == 512 << 10
    with pytest.raises(PadError):
        parse_size("lots")
    with pytest.raises(PadError):
        parse_size("10")


# -- pad files are signed by their maker and never replace a pad ----------------------------------------------

from crypto_fixtures import make_keyring  # noqa: E402
from pli.core.crypto.pairing import introduce  # noqa: E402


def _bytes(keyring, pad):
    return bytes(keyring.pads.read(pad.id, 0, pad.size))


def test_a_pad_file_forged_by_a_stranger_is_refused(tmp_path):
    """mallory knows bob's public identity and alice's pad id (the id travels in every envelope)."""
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 8192)
    genuine = _bytes(bob, pad)
    mallory = make_keyring(tmp_path, "mallory", 9)
    mallory.import_public(bob.identity.public)            # one way: bob has never heard of her
    mallory.import_public(alice.identity.public)
    mallory.pads.create(["alice@pli.test", "bob@pli.test"], 8192, pad_id=pad.id)   # bytes she knows
    with pytest.raises(Exception) as refused:
        bob.import_pad(mallory.export_pad(pad.id, "bob@pli.test"))
    assert "neither in your keyring nor in the directory" in str(refused.value)
    assert _bytes(bob, pad) == genuine


def test_a_trusted_correspondent_cannot_hand_over_a_pad_she_does_not_hold(tmp_path):
    alice, bob, mallory = people(tmp_path, "alice", "bob", "mallory")    # all trust each other
    pad = share_pad(alice, [bob], 8192)
    genuine = _bytes(bob, pad)
    mallory.pads.create(["alice@pli.test", "bob@pli.test"], 8192, pad_id=pad.id)
    with pytest.raises(PadError, match="not one of its holders"):
        bob.import_pad(mallory.export_pad(pad.id, "bob@pli.test"))
    assert _bytes(bob, pad) == genuine


def test_a_pad_already_held_is_never_replaced_even_by_its_maker(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 8192)
    first = alice.export_pad(pad.id, "bob@pli.test")
    genuine = _bytes(bob, pad)
    bob.import_pad(first)                                  # the same file again: nothing changes
    assert _bytes(bob, pad) == genuine
    alice.pads.path(pad.id).unlink()
    alice.pads.create(["alice@pli.test", "bob@pli.test"], 8192, pad_id=pad.id)   # redrawn under the same id
    with pytest.raises(PadError, match="already holds a different pad"):
        bob.import_pad(alice.export_pad(pad.id, "bob@pli.test"))
    assert _bytes(bob, pad) == genuine


def test_a_pad_file_with_a_broken_signature_or_maker_is_refused(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    pad = alice.new_pad(["bob@pli.test"], 8192)
    data = alice.export_pad(pad.id, "bob@pli.test")
    with pytest.raises(PadError, match="signature"):
        bob.import_pad(data[:-1] + bytes([data[-1] ^ 1]))
    as_carol = data[:40] + carol.identity.public.signing_fingerprint + data[56:]   # claims another maker
    with pytest.raises(PadError, match="signature"):
        bob.import_pad(as_carol)
    assert bob.pads.list() == []


def test_an_unsigned_pad_file_of_the_old_format_is_refused(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    pad = alice.new_pad(["bob@pli.test"], 8192)
    data = alice.export_pad(pad.id, "bob@pli.test")
    with pytest.raises(PadError, match="older pli"):
        bob.import_pad(b"PLIPADX1" + data[8:])
    assert bob.pads.list() == []


def test_pli_pad_import_says_who_made_the_file(tmp_path, capsys, monkeypatch):
    from pli.core.cli import main

    alice, bob = people(tmp_path, "alice", "bob")
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    pad = alice.new_pad(["bob@pli.test"], 8192)
    (tmp_path / "pad.plipad").write_bytes(alice.export_pad(pad.id, "bob@pli.test"))
    assert main(["--home", str(bob.home.root), "pad", "import", str(tmp_path / "pad.plipad")]) == 0
    out = capsys.readouterr().out
    assert f"signed by Dr Alice <alice@pli.test> (key {alice.identity.public.fingerprint})" in out
    stranger = make_keyring(tmp_path, "zoe", 8)
    stranger.import_public(bob.identity.public)
    other = stranger.new_pad(["bob@pli.test"], 8192)
    (tmp_path / "other.plipad").write_bytes(stranger.export_pad(other.id, "bob@pli.test"))
    assert main(["--home", str(bob.home.root), "pad", "import", str(tmp_path / "other.plipad")]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither in your keyring nor in the directory" in err


# -- the maker's key as the directory knows it: listed there only, or revoked there ---------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402

from directory_fixtures import Authority, entry_for  # noqa: E402
from pli.core.crypto.keyring import UntrustedMaker  # noqa: E402


def _directory(home, *publics, revoked=None) -> None:
    """`home` installs a directory listing `publics`; `revoked`: the one whose signing key it revokes (yesterday)."""
    entries = []
    for public in publics:
        entry = entry_for(public)
        if public == revoked:
            entry = entry.with_revocation(entry.current_key("ed25519").fingerprint,
                                          datetime.now(timezone.utc) - timedelta(days=1), "compromised")
        entries.append(entry)
    Authority().install(home, entries)


def test_a_pad_file_whose_maker_only_the_directory_lists_is_imported(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    bob = make_keyring(tmp_path, "bob", 2)
    alice.import_public(bob.identity.public)                 # bob has never exchanged keys with alice
    _directory(bob.home, alice.identity.public, bob.identity.public)
    pad = alice.new_pad(["bob@pli.test"], 8192)
    info, maker = bob.import_pad_from(alice.export_pad(pad.id, "bob@pli.test"))
    assert maker.address == "alice@pli.test" and _bytes(bob, info) == _bytes(alice, pad)


def test_a_pad_file_signed_with_a_key_the_directory_revoked_is_refused_keyring_or_not(tmp_path, capsys, monkeypatch):
    from pli.core.cli import main

    alice, bob = people(tmp_path, "alice", "bob")            # keys exchanged in person: the keyring has alice's
    _directory(bob.home, alice.identity.public, bob.identity.public, revoked=alice.identity.public)
    pad = alice.new_pad(["bob@pli.test"], 8192)
    data = alice.export_pad(pad.id, "bob@pli.test")
    with pytest.raises(UntrustedMaker, match="revoked"):
        bob.import_pad(data)
    assert bob.pads.list() == []
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    (tmp_path / "pad.plipad").write_bytes(data)
    assert main(["--home", str(bob.home.root), "pad", "import", str(tmp_path / "pad.plipad")]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "revoked" in err
    assert bob.pads.list() == []


def test_a_group_file_signed_with_a_key_the_directory_revoked_is_refused(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    _directory(bob.home, alice.identity.public, bob.identity.public, revoked=alice.identity.public)
    alice.create_group("cab-9", "cabinet@pli.test", "Cabinet")
    with pytest.raises(UntrustedMaker, match="revoked"):
        bob.import_group(alice.export_group("cabinet@pli.test", bob.identity.public))
    assert bob.groups == ()
