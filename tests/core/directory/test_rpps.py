"""RPPS import on generated extracts with the real column layout, then the authority's whole workflow."""
import random
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.cli import main
from pli.core.directory import PublicKey, RevokedSigner, load_directory
from pli.core.directory.entry import DirectoryEntry
from pli.core.directory.keyfile import write_key_file
from pli.core.directory.rpps import RppsFormatError, read_rpps, update_identities
from pli.core.home import Home

# The header of the public "PS_LibreAcces_Personne_activite" extract, in its published order.
HEADER = [
    "Type d'identifiant PP", "Identifiant PP", "Identification nationale PP", "Code civilité d'exercice",
    "Libellé civilité d'exercice", "Code civilité", "Libellé civilité", "Nom d'exercice", "Prénom d'exercice",
    "Code profession", "Libellé profession", "Code catégorie professionnelle",
    "Libellé catégorie professionnelle", "Code type savoir-faire", "Libellé type savoir-faire",
    "Code savoir-faire", "Libellé savoir-faire", "Code mode exercice", "Libellé mode exercice",
    "Numéro SIRET site", "Numéro SIREN site", "Numéro FINESS site", "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure", "Raison sociale site", "Enseigne commerciale site",
    "Complément destinataire (coord. structure)", "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)", "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)", "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)", "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)", "Code postal (coord. structure)", "Code commune (coord. structure)",
    "Libellé commune (coord. structure)", "Code pays (coord. structure)", "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)", "Téléphone 2 (coord. structure)", "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)", "Code Département (structure)", "Libellé Département (structure)",
    "Ancien identifiant de la structure", "Autorité d'enregistrement", "Code secteur d'activité",
    "Libellé secteur d'activité", "Code section tableau pharmaciens", "Libellé section tableau pharmaciens",
    "Code rôle", "Libellé rôle", "Code genre activité", "Libellé genre activité",
]

# Invented people (no real practitioner): id, title code, family, given, profession, specialty, site, town.
PEOPLE = [
    ("10000000017", "DR", "ARNAUD", "Hélène", "Médecin", "Cardiologie et maladies vasculaires",
     "Cabinet des Tilleuls", "69383", "Lyon 3e Arrondissement"),
    ("10000000025", "DR", "BESSON", "Éric", "Médecin", "Médecine Générale", "Maison de santé du Gier",
     "42218", "Saint-Étienne"),
    ("10000000033", "", "CHAUVIN", "Zoé", "Infirmier", "", "", "13055", "Marseille"),
    ("10000000041", "PR", "DELMAS", "François", "Médecin", "Biologie médicale", "Laboratoire Delmas",
     "31555", "Toulouse"),
]


def row(person, **override):
    rpps, title, family, given, profession, specialty, site, town_code, town = person
    cells = dict.fromkeys(HEADER, "")
    cells.update({
        "Type d'identifiant PP": "8", "Identifiant PP": rpps, "Identification nationale PP": "8" + rpps,
        "Code civilité d'exercice": title, "Libellé civilité d'exercice": {"DR": "Docteur", "PR": "Professeur"}.get(title, ""),
        "Nom d'exercice": family, "Prénom d'exercice": given, "Code profession": "10",
        "Libellé profession": profession, "Code catégorie professionnelle": "C",
        "Libellé catégorie professionnelle": "Civil", "Code savoir-faire": "SM54" if specialty else "",
        "Libellé savoir-faire": specialty, "Code mode exercice": "L", "Libellé mode exercice": "Libéral",
        "Raison sociale site": site, "Code commune (coord. structure)": town_code,
        "Libellé commune (coord. structure)": town, "Code postal (coord. structure)": town_code[:2] + "000",
        "Adresse e-mail (coord. structure)": f"contact@{family.lower()}.example",
    })
    cells.update(override)
    return cells


def write_extract(path, rows, header=HEADER, encoding="utf-8"):
    # The published file ends every line with a "|", header included.
    lines = ["|".join(header) + "|"] + ["|".join(r[c] for c in header) + "|" for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture
def extract(tmp_path):
    rows = [row(p) for p in PEOPLE]
    rows.insert(2, row(PEOPLE[0], **{"Raison sociale site": "Hôpital Nord", "Libellé savoir-faire": ""}))
    rows.append(row(PEOPLE[1], **{"Type d'identifiant PP": "0", "Identifiant PP": "691234567",
                                  "Identification nationale PP": "0691234567"}))  # an ADELI row
    return write_extract(tmp_path / "PS_LibreAcces_Personne_activite.txt", rows)


def test_people_are_read_by_column_name_and_merged_across_their_rows(extract):
    result = read_rpps(extract)

    assert (result.rows, result.skipped, len(result.entries)) == (6, 1, 4)
    arnaud = next(e for e in result.entries if e.id == "10000000017")
    assert arnaud.name == "Dr Hélène ARNAUD"
    assert (arnaud.profession, arnaud.specialty) == ("Médecin", "Cardiologie et maladies vasculaires")
    assert (arnaud.organisation, arnaud.town, arnaud.town_code) == ("Cabinet des Tilleuls", "Lyon 3e Arrondissement", "69383")
    assert arnaud.addresses == ()  # the structure's e-mail is not a secure-messaging address
    assert next(e for e in result.entries if e.id == "10000000041").name == "Pr François DELMAS"


def test_reordered_and_extra_columns_still_read(tmp_path):
    header = HEADER[::-1] + ["Colonne future"]
    rows = [dict(row(p), **{"Colonne future": "x"}) for p in PEOPLE]
    random.Random(4).shuffle(rows)
    result = read_rpps(write_extract(tmp_path / "reordered.txt", rows, header))
    assert sorted(e.id for e in result.entries) == [p[0] for p in PEOPLE]
    assert {e.id: e.town for e in result.entries}["10000000025"] == "Saint-Étienne"


def test_an_older_windows_1252_extract_reads(tmp_path):
    result = read_rpps(write_extract(tmp_path / "old.txt", [row(PEOPLE[1])], encoding="cp1252"))
    assert result.entries[0].given_name == "Éric"


def test_a_file_without_the_identity_columns_is_refused(tmp_path):
    header = [c for c in HEADER if c != "Nom d'exercice"]
    with pytest.raises(RppsFormatError, match="Nom d'exercice"):
        read_rpps(write_extract(tmp_path / "bad.txt", [row(PEOPLE[0])], header))


def test_a_refresh_keeps_bound_keys_addresses_and_groups(extract):
    imported = read_rpps(extract).entries
    bound = [DirectoryEntry(id="10000000017", kind="person", name="old name", addresses=("h.arnaud@pli.test",),
                            groups=("cab-tilleuls",))]
    refreshed = {e.id: e for e in update_identities(bound, imported)}
    assert refreshed["10000000017"].name == "Dr Hélène ARNAUD"
    assert refreshed["10000000017"].addresses == ("h.arnaud@pli.test",)
    assert refreshed["10000000017"].groups == ("cab-tilleuls",)


def _raw(private) -> PublicKey:
    alg = "ed25519" if isinstance(private, Ed25519PrivateKey) else "x25519"
    return PublicKey(alg, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def test_authority_workflow_from_rpps_to_a_signer_check(extract, tmp_path, capsys):
    """authority init -> import-rpps -> bind -> group -> revoke -> sign; a home trusts, imports, searches."""
    authority, user = str(tmp_path / "authority-home"), str(tmp_path / "user-home")
    signing, agreement = _raw(Ed25519PrivateKey.generate()), _raw(X25519PrivateKey.generate())
    card = tmp_path / "arnaud.pub"
    write_key_file(card, [signing, agreement])
    signed = tmp_path / "directory.pli"
    pub = tmp_path / "authority-home" / "authority" / "authority.pub"

    def pli(home, *args):
        status = main(["--home", home, *map(str, args)])
        assert status == 0, capsys.readouterr().err
        return capsys.readouterr().out

    pli(authority, "dir", "authority", "init")
    pli(authority, "dir", "import-rpps", extract)
    pli(authority, "dir", "bind", "10000000017", card, "--address", "h.arnaud@pli.test")
    pli(authority, "dir", "group", "cab-tilleuls", "--name", "Cabinet des Tilleuls",
        "--member", "10000000017", "--member", "10000000025")
    pli(authority, "dir", "revoke", "10000000017", signing.fingerprint, "--date", "2025-03-01")
    pli(authority, "dir", "sign", tmp_path / "authority-home" / "authority" / "entries.json", "-o", signed)
    pli(user, "dir", "trust", pub)
    pli(user, "dir", "import", signed)

    assert "10000000017" in pli(user, "dir", "search", "helene", "lyon")
    shown = pli(user, "dir", "show", "h.arnaud@pli.test")
    assert "revoked 2025-03-01" in shown and "Cabinet des Tilleuls" in shown
    directory = load_directory(Home.resolve(user))
    assert sorted(m.id for m in directory.members("cab-tilleuls")) == ["10000000017", "10000000025"]
    with pytest.raises(RevokedSigner) as caught:
        directory.check_signer("h.arnaud@pli.test", signing.fingerprint, datetime(2025, 4, 1, tzinfo=timezone.utc))
    assert caught.value.revoked == datetime(2025, 3, 1, tzinfo=timezone.utc)
