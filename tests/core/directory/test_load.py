"""The installed directory, whose entries are built as they are asked for, answers as the fully checked file does.

The reference is `open_directory` (every entry built and checked, what
`pli dir import` runs) and the search rules written out plainly here.
"""
import base64
import hashlib
import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from pli.core.directory import (BadDirectorySignature, DirectoryEntry, DirectoryRefused, fold,
                                import_directory, load_directory, set_trust_anchor)
from pli.core.directory.local import CHECKS, checked_path, installed_path, trust_anchor
from pli.core.directory.signed import DOMAIN, MAGIC, open_directory
from pli.core.home import Home

from directory_fixtures import Authority, generated_entries

SIZE = 1_500
MAY = datetime(2025, 5, 1, tzinfo=timezone.utc)
NAMES = ("Œdipe Lefèvre", "Æsa Ørsted", "Zoé d'Arc", "anne-sophie MARTIN", "Éric Dupont", "eric dupont")


def varied(count: int) -> list[DirectoryEntry]:
    """The generated practitioners plus what a real directory mixes in: accents and ligatures, names in
    any case, group practices and a proxy with members, revoked keys."""
    people = generated_entries(count)
    for n, name in enumerate(NAMES):
        people[n * 7] = replace(people[n * 7], name=name)
    for n in range(0, count, 11):   # one in eleven lost its signing key, one in 33 by theft
        key = people[n].current_key("ed25519").fingerprint
        people[n] = people[n].with_revocation(key, MAY, "compromised" if n % 3 == 0 else "retired")
    for n in range(count):
        groups = (f"cab-{n % 10}",) if n % 4 == 0 else ("chu-proxy",) if n % 4 == 1 else ()
        people[n] = replace(people[n], groups=groups)
    practices = [DirectoryEntry(id=f"cab-{g}", kind="group", name=f"Cabinet {g} des Tilleuls", town="Lyon",
                                addresses=(f"cabinet{g}@pli.test",)) for g in range(10)]
    proxy = (DirectoryEntry(id="chu-proxy", kind="proxy", name="CHU de Brest", town="Brest",
                            addresses=("secretariat@chu.test",))
             .with_key(generated_entries(1)[0].current_key("x25519").key, MAY))
    return people + practices + [proxy]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A home with the varied directory installed, and that file's entries as open_directory checks them."""
    home = Home(tmp_path_factory.mktemp("load") / "home")
    Authority().install(home, varied(SIZE))
    checked = open_directory(installed_path(home).read_bytes(), trust_anchor(home)).entries
    return home, checked


def in_listing_order(entries):
    return sorted(entries, key=lambda e: (e.kind != "person", fold(e.name), e.id))


def haystack(e: DirectoryEntry) -> str:
    return fold(" ".join(f for f in (e.name, e.given_name, e.family_name, e.town, e.specialty, e.profession,
                                    e.organisation, e.id, *e.addresses) if f))


def reference_search(entries, text: str) -> list[DirectoryEntry]:
    return [e for e in in_listing_order(entries) if all(w in haystack(e) for w in fold(text).split())]


def reference_completion(entries, prefix: str) -> list[DirectoryEntry]:
    folded = fold(prefix)
    return [e for e in in_listing_order(entries)
            if haystack(e).startswith(folded) or f" {folded}" in haystack(e)]


def test_an_address_and_a_key_fingerprint_find_the_checked_entry(installed):
    home, checked = installed
    directory = load_directory(home)
    for entry in checked[::37]:
        for address in entry.addresses:
            assert directory.by_address(address.upper()) == entry
        for key in entry.keys:
            assert directory.by_fingerprint(key.fingerprint) == entry
        assert directory.entry(entry.id) == entry
    assert directory.by_address("nobody@pli.test") is None
    assert directory.by_fingerprint("00" * 16) is None
    assert len(directory) == len(checked) == SIZE + 11


def test_a_revoked_key_is_found_revoked_with_its_date(installed):
    home, _ = installed
    directory = load_directory(home)
    stolen = directory.by_address("praticien33@pli.test").key_by_fingerprint(
        generated_entries(34)[33].current_key("ed25519").fingerprint)
    assert (stolen.revoked, stolen.reason) == (MAY, "compromised")


def test_the_listing_is_every_checked_entry_in_name_order(installed):
    home, checked = installed
    listed = load_directory(home).entries
    assert list(listed) == in_listing_order(checked)
    assert [e.name for e in listed[:2]] == ["Æsa Ørsted", "anne-sophie MARTIN"]


@pytest.mark.parametrize("text", ["nephro brest", "saint etienne cardio", "oedipe", "AESA", "zoe d arc",
                                  "eric dupont", "cabinet 12", "10000000777", "praticien14", "tilleuls", "zzz"])
def test_search_finds_the_same_entries_in_the_same_order(installed, text):
    home, checked = installed
    directory = load_directory(home)
    assert directory.search(text) == reference_search(checked, text)
    assert directory.search(text, limit=5) == reference_search(checked, text)[:5]


@pytest.mark.parametrize("prefix", ["prat", "nom12", "sain", "dr", "eric", "cab", "1000000001", "x"])
def test_completion_finds_the_same_entries_in_the_same_order(installed, prefix):
    home, checked = installed
    assert load_directory(home).complete(prefix, limit=20) == reference_completion(checked, prefix)[:20]


def test_members_and_groups_are_the_checked_ones(installed):
    home, checked = installed
    directory = load_directory(home)
    assert directory.members("cab-3") == [e for e in in_listing_order(checked) if "cab-3" in e.groups]
    assert len(directory.members("chu-proxy")) == SIZE // 4
    assert [g.id for g in directory.groups_of(directory.by_address("praticien40@pli.test"))] == ["cab-0"]


def test_a_file_altered_in_its_last_entry_is_refused_at_load_before_any_look_up(installed, tmp_path):
    home, _ = installed
    copy = Home(tmp_path / "copy")
    set_trust_anchor(copy, trust_anchor(home))
    data = installed_path(home).read_bytes()
    at = data.rindex(b"secretariat@chu.test")
    installed_path(copy).write_bytes(data[:at] + b"S" + data[at + 1:])
    with pytest.raises(BadDirectorySignature):
        load_directory(copy)


def install_signed(home: Home, edit, marked: bool = False) -> bytes:
    """Install, without the checks of import, a file signed by the home's authority whose entry objects
    `edit` changed (an authority's bug: import refuses it), `marked` as checked or not; returns the file."""
    authority = Authority()
    authority.install(home, generated_entries(5))
    obj = json.loads(installed_path(home).read_bytes().split(b"\n\n", 1)[1])
    edit(obj["entries"])
    payload = json.dumps(obj).encode()
    data = (MAGIC + b"authority: ed25519 " + authority.public.b64.encode() + b"\nsignature: "
            + base64.b64encode(authority.key.sign(DOMAIN + payload)) + b"\n\n" + payload)
    installed_path(home).write_bytes(data)
    if marked:
        checked_path(home).write_text(f"{CHECKS} {hashlib.sha256(data).hexdigest()}\n")
    return data


def bad_address(objects):
    objects[3].update(addresses=["not-an-address"])


def test_import_marks_the_file_checked_and_a_load_keeps_the_mark(installed):
    home, _ = installed
    data = installed_path(home).read_bytes()
    assert checked_path(home).read_text() == f"{CHECKS} {hashlib.sha256(data).hexdigest()}\n"
    assert checked_path(home).stat().st_mode & 0o777 == 0o600
    load_directory(home)
    assert checked_path(home).read_text() == f"{CHECKS} {hashlib.sha256(data).hexdigest()}\n"


def test_a_malformed_file_the_mark_does_not_name_is_refused_at_load_as_at_import(tmp_path):
    home = Home(tmp_path / "home")
    data = install_signed(home, bad_address)
    with pytest.raises(DirectoryRefused, match="malformed.*not a mail address"):
        load_directory(home)
    with pytest.raises(DirectoryRefused, match="not a mail address"):
        import_directory(home, data)


@pytest.mark.parametrize("stale", ["{checks} {digest_of_other}\n", "{old} {digest}\n", ""])
def test_a_good_file_the_mark_does_not_name_is_checked_then_marked(tmp_path, stale):
    home = Home(tmp_path / "home")
    data = install_signed(home, lambda objects: objects[1].update(town="Quimper"))
    checked_path(home).write_text(stale.format(checks=CHECKS, old=CHECKS - 1, digest=hashlib.sha256(data).hexdigest(),
                                               digest_of_other=hashlib.sha256(b"other").hexdigest()))
    assert load_directory(home).by_address("praticien1@pli.test").town == "Quimper"
    assert checked_path(home).read_text() == f"{CHECKS} {hashlib.sha256(data).hexdigest()}\n"


def test_a_forged_mark_only_defers_the_refusal_to_the_malformed_entry(tmp_path):
    home = Home(tmp_path / "home")
    install_signed(home, bad_address, marked=True)
    directory = load_directory(home)

    assert directory.by_address("praticien0@pli.test").id == "10000000000"
    with pytest.raises(DirectoryRefused, match="malformed.*not a mail address"):
        directory.by_address("not-an-address")


@pytest.mark.parametrize("edit, problem", [
    (lambda objects: objects[4].update(addresses=objects[1]["addresses"]), "address praticien1@pli.test to two"),
    (lambda objects: objects[2].update(addresses="praticien2@pli.test"), "'addresses' must be a list"),
    (lambda objects: objects[2].update(keys=objects[1]["keys"][:1]), "gives key .* to two entries"),
])
def test_an_index_that_cannot_be_read_refuses_the_directory(tmp_path, edit, problem):
    home = Home(tmp_path / "home")
    install_signed(home, edit, marked=True)
    directory = load_directory(home)
    with pytest.raises(DirectoryRefused, match=problem):
        directory.by_address("praticien0@pli.test")
        directory.by_fingerprint("00" * 16)
    with pytest.raises(DirectoryRefused, match=problem):
        checked_path(home).unlink()
        load_directory(home)
