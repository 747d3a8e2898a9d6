"""IHE XDM packages (IHE_XDM.ZIP): the way MSSanté carries documents for the patient record.

    read_package(zip_bytes) -> XdmPackage          package.py: safe unpacking, size and SHA-1 checked
    parse_metadata / metadata_xml                  metadata.py: the ebRIM SubmitObjectsRequest
    build_package(documents, sender, recipients)   compose.py: a package to send, its subject and X-MSS-* headers
"""
from pli.core.xdm.compose import (OutgoingDocument, OutgoingPackage, PatientIdentity, Sender, build_package,
                                  cda_document, file_document, subject_for)
from pli.core.xdm.metadata import Author, Code, DocumentEntry, SubmissionSet, parse_metadata
from pli.core.xdm.package import ATTACHMENT_NAME, XdmDocument, XdmPackage, XdmRefused, read_package

__all__ = ["ATTACHMENT_NAME", "Author", "Code", "DocumentEntry", "OutgoingDocument", "OutgoingPackage",
           "PatientIdentity", "Sender", "SubmissionSet", "XdmDocument", "XdmPackage", "XdmRefused", "build_package",
           "cda_document", "file_document", "parse_metadata", "read_package", "subject_for"]
