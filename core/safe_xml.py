"""Reading XML that other systems wrote (CDA documents, XDM metadata): no DTD, no entity, a size limit.

    root = parse_xml(data, "CDA document", max_bytes=MAX_BYTES)      # an ElementTree Element
    ns_tag(element) -> ("urn:hl7-org:v3", "ClinicalDocument")

A health document comes from outside: an XML bomb (nested entities), an
external entity pointing at a local file or a URL, or a gigabyte of nesting
must not cost pli anything.  defusedxml refuses DTDs and entities before
expat expands them; the size is checked before parsing starts.  Every
failure is one XmlRefused naming what was refused and where (line, column),
never quoting the document, which holds patient data.
"""
from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pli.core.errors import PliError


class XmlRefused(PliError):
    """An XML document pli will not read: too big, a DTD or entity, or not well-formed."""

    def __init__(self, what: str, reason: str):
        super().__init__(f"{what} refused: {reason}; ask the sender to resend it (the original is kept)")
        self.what = what
        self.reason = reason


def parse_xml(data: bytes, what: str, max_bytes: int) -> Element:
    """The root element of `data`; XmlRefused (naming `what`) for anything pli will not read."""
    if len(data) > max_bytes:
        raise XmlRefused(what, f"it is {len(data)} bytes, more than the {max_bytes} pli reads")
    if not data.strip():
        raise XmlRefused(what, "it is empty")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise XmlRefused(what, f"it declares a DTD or entities ({type(error).__name__}), which pli never "
                               "reads") from None
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise XmlRefused(what, f"it is not well-formed XML (line {line}, column {column})") from None
    except LookupError:   # expat asks the codecs for the encoding the declaration names
        raise XmlRefused(what, "its XML declaration names an encoding that does not exist") from None


def ns_tag(element: Element) -> tuple[str, str]:
    """('urn:hl7-org:v3', 'section') for '{urn:hl7-org:v3}section'; ('', tag) without a namespace."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
