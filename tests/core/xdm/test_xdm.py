"""IHE XDM packages: reading one written elsewhere, refusing unsafe or altered ones, writing one for MSSanté.

The reference package is tests/fixtures/mssante/xdm-cr-bio/ (hand-written
METADATA.XML in the layout of the IHE ITI examples, see the README there),
zipped at test time.  Unsafe archives are built here, byte by byte where the
zipfile module would not write them.
"""
from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pli.core.lab.cda import PatientId, read_cda
from pli.core.lab.cda_results import lab_report
from pli.core.xdm import (Code, PatientIdentity, Sender, XdmRefused, build_package, cda_document, file_document,
                          read_package, subject_for)
from pli.core.xdm import package as xdm_package

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mssante"
REFERENCE = FIXTURES / "xdm-cr-bio"
CR_BIO = (FIXTURES / "cr-bio-fictif.xml").read_bytes()
PDF = (REFERENCE / "IHE_XDM" / "SUBSET01" / "DOC0002.PDF").read_bytes()
LETTER = Code("11490-0", "2.16.840.1.113883.6.1", "Lettre de sortie")
SENDER = Sender(address="jeanne.exemple@cabinet.mssante.test", rpps="10000000456", family="Exemple",
                given="Jeanne", specialty=Code("G15_10/SM26", "1.2.250.1.213.1.1.4.5", "Médecine générale"))
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def reference_files() -> dict[str, bytes]:
    return {p.relative_to(REFERENCE).as_posix(): p.read_bytes() for p in sorted(REFERENCE.rglob("*")) if p.is_file()}


# -- reading ------------------------------------------------------------------------------------------------

def test_a_package_written_elsewhere_lists_its_documents_with_their_metadata():
    package = read_package(zipped(reference_files()))
    submission = package.submission
    assert (package.subset, submission.title, submission.submission_time) == (
        "SUBSET01", "Résultats de biologie", "20260302093000")
    assert submission.intended_recipients == ("|^^Internet^jeanne.exemple@cabinet.mssante.test",)
    assert submission.authors[0].rpps == "10000000123" and submission.content_type.code == "11502-2"
    cda, letter = package.documents
    assert (cda.entry.title, cda.entry.mime_type, cda.entry.type_code.code, cda.entry.class_code.display) == (
        "Compte rendu d'examens biologiques", "text/xml", "11502-2", "Compte rendu")
    assert cda.entry.codes["formatCode"].code == "urn:ihe:lab:xd-lab:2008"
    assert (cda.entry.patient.kind, cda.entry.patient.qualified, cda.entry.patient.extension) == (
        "INS-NIR", True, "265040000123407")
    assert cda.entry.patient_name == "FICTIF Zoé" and cda.entry.authors[0].name == "Paul ESSAI"
    assert (cda.entry.size, cda.data) == (len(CR_BIO), CR_BIO)
    assert (letter.entry.title, letter.entry.mime_type, letter.data[:5]) == (
        "Courrier d'accompagnement", "application/pdf", b"%PDF-")
    assert "Laboratoire d'essai" in package.readme


def test_the_lab_report_inside_a_package_gives_its_results():
    package = read_package(zipped(reference_files()))
    report = lab_report(read_cda(package.documents[0].data))
    assert report.severity == "critical" and report.patient.ssn == "265040000123407"


def test_a_hash_in_capitals_and_member_names_in_another_case_still_match():
    files = reference_files()
    files["ihe_xdm/subset01/doc0002.pdf"] = files.pop("IHE_XDM/SUBSET01/DOC0002.PDF")
    assert read_package(zipped(files)).documents[1].data == PDF


# -- refusing -----------------------------------------------------------------------------------------------

def refused(data: bytes) -> str:
    with pytest.raises(XdmRefused) as error:
        read_package(data)
    message = str(error.value)
    assert "\n" not in message and message.startswith("IHE XDM package refused: ")
    assert "FICTIF" not in message and "265040000123407" not in message
    return message


@pytest.mark.parametrize("name", ["../evil.sh", "IHE_XDM/../../evil.sh", "/etc/cron.d/evil", "IHE_XDM\\SUBSET01\\x",
                                  "C:/Windows/evil.exe", "IHE_XDM/SUBSET01/DOC0002.PDF\x00.sh"])
def test_a_member_name_that_escapes_the_package_is_refused(name):
    files = reference_files()
    files[name.replace("\x00", "~")] = b"#!/bin/sh\n"
    # zipfile will not write a NUL in a name: put it in the archive's bytes (both headers) by hand.
    archive = zipped(files).replace(b"DOC0002.PDF~.sh", b"DOC0002.PDF\x00.sh")
    assert "points outside the package" in refused(archive)


def test_a_uri_that_climbs_out_of_its_folder_is_refused():
    files = reference_files()
    files["IHE_XDM/SUBSET01/METADATA.XML"] = files["IHE_XDM/SUBSET01/METADATA.XML"].replace(
        b"<rim:Value>DOC0002.PDF</rim:Value>", b"<rim:Value>../../README.TXT</rim:Value>")
    assert "points outside its folder" in refused(zipped(files))


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    files = reference_files()
    files["IHE_XDM/SUBSET01/DOC0003.XML"] = bytes(20 * 1024 * 1024)        # 20 MiB of zeros, ~20 KB packed
    bomb = zipped(files)
    assert len(bomb) < 200_000
    assert "a zip bomb" in refused(bomb)


def test_too_many_bytes_in_total_are_refused(monkeypatch):
    monkeypatch.setattr(xdm_package, "MAX_TOTAL_BYTES", 100_000)
    files = reference_files()
    files["IHE_XDM/SUBSET01/BIG.BIN"] = bytes(range(256)) * 500            # 128 KB, compresses poorly
    assert "add up to" in refused(zipped(files))


def test_a_header_that_lies_about_a_members_size_does_not_make_pli_inflate_more():
    files = reference_files()
    archive = bytearray(zipped(files))
    data = files["IHE_XDM/SUBSET01/DOC0002.PDF"]
    # Declare 100 bytes where there are 617, in both the local header and the central directory.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = archive.find(signature + b"", 0)
        while position != -1:
            if struct.unpack_from("<I", archive, position + offset)[0] == len(data):
                struct.pack_into("<I", archive, position + offset, 100)
            position = archive.find(signature, position + 4)
    message = refused(bytes(archive))
    assert "DOC0002.PDF" in message


def test_an_altered_document_is_refused_by_its_hash_and_a_cut_one_by_its_size():
    files = reference_files()
    files["IHE_XDM/SUBSET01/DOC0001.XML"] = CR_BIO.replace(b'value="6.8"', b'value="4.8"')   # same size
    assert "SHA-1 of document 'DOC0001.XML' does not match" in refused(zipped(files))
    files["IHE_XDM/SUBSET01/DOC0001.XML"] = CR_BIO[:-10]
    assert "its metadata says 16075" in refused(zipped(files))


@pytest.mark.parametrize("change, words", [
    (lambda f: f.pop("IHE_XDM/SUBSET01/METADATA.XML"), "no IHE_XDM/SUBSETnn/METADATA.XML"),
    (lambda f: f.pop("IHE_XDM/SUBSET01/DOC0002.PDF"), "'DOC0002.PDF' listed in METADATA.XML is missing"),
    (lambda f: f.update({"IHE_XDM/SUBSET01/METADATA.XML": b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x/>"}),
     "DTD or entities"),
    (lambda f: f.update({"IHE_XDM/SUBSET01/METADATA.XML": b"<Metadata/>"}), "not XDS metadata"),
    (lambda f: f.update({"IHE_XDM/SUBSET01/METADATA.XML": b"<unclosed"}), "not well-formed"),
])
def test_an_incomplete_package_says_what_is_missing(change, words):
    files = reference_files()
    change(files)
    assert words in refused(zipped(files))


def test_a_plain_zip_an_encrypted_member_a_duplicate_and_junk_are_refused():
    assert "not an XDM package" in refused(zipped({"report.pdf": PDF}))
    assert "not a readable zip" in refused(b"PK\x03\x04 this is not a zip")
    files = reference_files()
    duplicated = io.BytesIO()
    with zipfile.ZipFile(duplicated, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        with pytest.warns(UserWarning):
            archive.writestr("IHE_XDM/SUBSET01/DOC0002.PDF", b"%PDF- another one")
    assert "appears twice" in refused(duplicated.getvalue())
    encrypted = bytearray(zipped(files))
    position = encrypted.find(b"PK\x01\x02")
    struct.pack_into("<H", encrypted, position + 8, struct.unpack_from("<H", encrypted, position + 8)[0] | 1)
    assert "is encrypted" in refused(bytes(encrypted))


# -- writing ------------------------------------------------------------------------------------------------

def patient_of_fixture(**changes) -> PatientIdentity:
    fields = dict(family="FICTIF", given="Zoé", birth_date=date(1965, 4, 12), sex="F",
                  ins=PatientId("1.2.250.1.213.1.4.8", "265040000123407"))
    fields.update(changes)
    return PatientIdentity(**fields)


def test_a_package_pli_writes_reads_back_with_every_document_verified():
    when = datetime(2026, 3, 3, 8, 0, tzinfo=timezone.utc)
    outgoing = build_package([cda_document(CR_BIO), file_document(PDF, "application/pdf", "Courrier", LETTER,
                                                                  patient_of_fixture(), when)],
                             SENDER, ["dr.b@hopital.mssante.test"], now=when)
    package = read_package(outgoing.zip_bytes)
    cda, letter = package.documents
    assert [d.path for d in package.documents] == ["IHE_XDM/SUBSET01/DOC0001.XML", "IHE_XDM/SUBSET01/DOC0002.PDF"]
    assert cda.data == CR_BIO and letter.data == PDF
    assert cda.entry.unique_id == "1.2.250.1.213.1.1.9.999.2026.42^CRBIO-0042"       # the CDA's own id
    assert letter.entry.unique_id.startswith("2.25.")
    assert cda.entry.patient_id == "265040000123407^^^&1.2.250.1.213.1.4.8&ISO^NH"
    assert cda.entry.codes["formatCode"].code == "urn:ihe:lab:xd-lab:2008"
    assert letter.entry.codes["formatCode"].code == "urn:ihe:iti:xds:2017:mimeTypeSufficient"
    assert cda.entry.authors[0].rpps == "10000000456" and cda.entry.hash == hashlib.sha1(CR_BIO).hexdigest()
    assert "PID-5|FICTIF^Zoé^^^^^L" in cda.entry.source_patient_info
    assert package.submission.intended_recipients == ("|^^Internet^dr.b@hopital.mssante.test",)
    assert package.submission.submission_time == "20260303080000"
    names = zipfile.ZipFile(io.BytesIO(outgoing.zip_bytes)).namelist()
    assert {"README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML"} <= set(names)


def test_the_metadata_pli_writes_has_every_attribute_xdm_requires():
    outgoing = build_package([cda_document(CR_BIO)], SENDER, ["dr.b@hopital.mssante.test"])
    metadata = zipfile.ZipFile(io.BytesIO(outgoing.zip_bytes)).read("IHE_XDM/SUBSET01/METADATA.XML")
    root = ElementTree.fromstring(metadata)
    [extrinsic] = root.iter(f"{RIM}ExtrinsicObject")
    slots = {s.get("name") for s in extrinsic.findall(f"{RIM}Slot")}
    assert {"creationTime", "hash", "languageCode", "size", "sourcePatientId", "sourcePatientInfo", "URI"} <= slots
    schemes = {c.get("classificationScheme") for c in extrinsic.findall(f"{RIM}Classification")}
    assert len(schemes) == 7      # author, classCode, typeCode, formatCode, confidentiality, facility, practice
    identifiers = {i.get("identificationScheme") for i in extrinsic.findall(f"{RIM}ExternalIdentifier")}
    assert identifiers == {"urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"}
    [association] = root.iter(f"{RIM}Association")
    assert association.get("associationType").endswith("HasMember")
    assert metadata.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<lcm:SubmitObjectsRequest')


def test_subject_and_headers_follow_the_mssante_client_rules():
    outgoing = build_package([cda_document(CR_BIO)], SENDER, ["dr.b@hopital.mssante.test"])
    assert outgoing.subject == "XDM/1.0/DDM+Compte rendu d'examens biologiques FICTIF Zoé 12/04/1965"
    assert outgoing.headers == (("X-MSS-CODECDA", "11502-2"), ("X-MSS-INS", "O"))
    test_ins = CR_BIO.replace(b'root="1.2.250.1.213.1.4.8"', b'root="1.2.250.1.213.1.4.10"')
    assert build_package([cda_document(test_ins)], SENDER, []).headers[-1] == ("X-MSS-INS", "N")
    only_pdf = build_package([file_document(PDF, "application/pdf", "Courrier", LETTER, patient_of_fixture())],
                             SENDER, [])
    assert only_pdf.headers == () and only_pdf.subject == "XDM/1.0/DDM+Courrier FICTIF Zoé 12/04/1965"


def test_one_patient_per_package():
    other = patient_of_fixture(family="EXEMPLE", ins=PatientId("1.2.250.1.213.1.4.8", "180010000000155"))
    with pytest.raises(XdmRefused, match="one patient per message"):
        build_package([cda_document(CR_BIO), file_document(PDF, "application/pdf", "Courrier", LETTER, other)],
                      SENDER, [])
    with pytest.raises(XdmRefused, match="neither an INS nor a local identifier"):
        build_package([file_document(PDF, "application/pdf", "Courrier", LETTER, patient_of_fixture(ins=None))],
                      SENDER, [])


def test_without_an_ins_the_local_identifier_names_the_patient():
    local = patient_of_fixture(ins=None, local_id=PatientId("1.2.250.1.213.1.1.9.999.1", "IPP-77812"))
    outgoing = build_package([file_document(PDF, "application/pdf", "Courrier", LETTER, local)], SENDER, [])
    entry = read_package(outgoing.zip_bytes).documents[0].entry
    assert entry.patient_id == "IPP-77812^^^&1.2.250.1.213.1.1.9.999.1&ISO^PI"
    assert entry.patient.kind == "" and not entry.patient.qualified


def test_subject_without_a_birth_date_keeps_the_rest():
    assert subject_for("CR", patient_of_fixture(birth_date=None)) == "XDM/1.0/DDM+CR FICTIF Zoé"
