"""Which format is this document? Detect it from the root element and namespace.

CJSE envelopes are unwrapped first: a ``DeliverRequest`` carries its payload as a child
element of ``Message``; a ``RouteData`` carries it XML-escaped as the text of
``DataStreamContent``. Facts about the envelope worth keeping (message id, correlation id,
source system) are returned alongside the payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from lxml import etree

from exchange.domain.errors import InvalidMessage, Issue, UnsupportedFormat
from exchange.jsonsafe import load_json
from exchange.xmlsafe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, parse_xml

__all__ = [
    "CJSE_DELIVER_NS",
    "CJSE_OPERATIONS_NS",
    "CP20_NS",
    "CMS_CHARGING_DECISION",
    "CMS_DOCUMENTS_SERVED",
    "CP20",
    "Detected",
    "LIBRA_NS",
    "POLICE_CHARGE_REQUEST",
    "SPI_NEW_CASE",
    "SPI_RESULTED_CASE",
    "detect",
]

LIBRA_NS: Final = "http://www.dca.gov.uk/xmlschemas/libra"
CP20_NS: Final = "http://www.cgi.com/CP/CP20/2020-03"
CJSE_DELIVER_NS: Final = "http://schemas.cjse.gov.uk/messages/deliver/2006-05"
CJSE_OPERATIONS_NS: Final = "http://schemas.cjse.gov.uk/common/operations"
_MSG_NS: Final = "http://schemas.cjse.gov.uk/messages/messaging/2006-05"
_META_NS: Final = "http://schemas.cjse.gov.uk/messages/metadata/2006-05"
_FORMAT_NS: Final = "http://schemas.cjse.gov.uk/messages/format/2006-05"
_ENTITY_NS: Final = "http://schemas.cjse.gov.uk/common/businessentities"

CHARGE_REQUEST_NS: Final = "urn:cjs-exchange:police:charge-request:v1"
SPI_NEW_CASE: Final = "spi-new-case"
POLICE_CHARGE_REQUEST: Final = "police-charge-request"
SPI_RESULTED_CASE: Final = "spi-resulted-case"
CP20: Final = "cp20"

# (namespace, root local name) -> stable format name.
_XML_FORMATS: Final[dict[tuple[str, str], str]] = {
    (LIBRA_NS, "NewCaseMessage"): SPI_NEW_CASE,
    (LIBRA_NS, "ResultedCaseMessage"): SPI_RESULTED_CASE,
    (CP20_NS, "CP20"): CP20,
    (CHARGE_REQUEST_NS, "ChargeRequest"): POLICE_CHARGE_REQUEST,
}
CMS_DOCUMENTS_SERVED: Final = "cms-documents-served"
CMS_CHARGING_DECISION: Final = "cms-charging-decision"
# CMS JSON documents name their type in a top-level "documentType" field.
_JSON_FORMATS: Final[dict[str, str]] = {
    "DocumentsServed": CMS_DOCUMENTS_SERVED,
    "ChargingDecision": CMS_CHARGING_DECISION,
}
ACCEPTED: Final = (
    SPI_NEW_CASE,
    SPI_RESULTED_CASE,
    CP20,
    POLICE_CHARGE_REQUEST,
    *_JSON_FORMATS.values(),
)


@dataclass(frozen=True, slots=True)
class Detected:
    """A document's format, its payload with any envelope removed, and the envelope facts.

    ``element`` is the parsed payload root (XML formats), so callers need not parse twice.
    """

    format: str
    root: str
    namespace: str
    payload: bytes
    envelope: dict[str, str] = field(default_factory=dict)
    element: Any = field(default=None, repr=False, compare=False)


def _split(tag: str) -> tuple[str, str]:
    qname = etree.QName(tag)
    return qname.namespace or "", qname.localname


def _text(root: etree._Element, path: str, ns: dict[str, str]) -> str | None:
    found = root.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _unwrap_deliver(root: etree._Element) -> tuple[etree._Element, dict[str, str]]:
    ns = {"d": CJSE_DELIVER_NS, "msg": _MSG_NS, "mm": _META_NS, "mf": _FORMAT_NS}
    facts = {
        "envelope": "DeliverRequest",
        "message_id": _text(root, "msg:MessageIdentifier", ns),
        "requesting_system": _text(root, "msg:RequestingSystem/msg:Name", ns),
        "source_system": _text(root, "mm:MessageMetadata/mm:OriginatingSystem/msg:Name", ns),
        "source_organisation": _text(
            root, "mm:MessageMetadata/mm:OriginatingSystem/msg:OrgUnitCode", ns
        ),
        "created_at": _text(root, "mm:MessageMetadata/mm:CreationDateTime", ns),
        "message_type": _text(root, "mf:MessageFormat/mf:MessageType/msg:Type", ns),
    }
    message = root.find("d:Message", ns)
    children = [] if message is None else [c for c in message if isinstance(c.tag, str)]
    if len(children) != 1:
        raise _envelope_error("DeliverRequest", "Message must hold exactly one payload element")
    return children[0], {k: v for k, v in facts.items() if v}


def _unwrap_route(
    root: etree._Element, max_bytes: int, max_depth: int
) -> tuple[etree._Element, dict[str, str]]:
    ns = {"op": CJSE_OPERATIONS_NS, "e": _ENTITY_NS}
    facts = {
        "envelope": "RouteData",
        "correlation_id": _text(root, "op:RequestFromSystem/op:CorrelationID", ns),
        "source_system": _text(root, "op:RequestFromSystem/op:SourceID", ns)
        or _text(root, "op:RequestFromSystem/op:SystemID", ns),
        "source_organisation": _text(root, "op:RequestFromSystem/op:OrganizationalUnitID", ns),
        "destination_system": _text(root, "op:RequestFromSystem/op:DestinationID", ns),
        "message_type": _text(root, "op:DataStream/e:DataStreamType", ns),
        "message_id": _text(root, "op:DataStream/e:SystemDataStreamID", ns),
    }
    content = root.find("op:DataStream/e:DataStreamContent", ns)
    if content is None or not (content.text or "").strip():
        raise _envelope_error("RouteData", "DataStream/DataStreamContent is missing or empty")
    # The payload is a second document, escaped as text: parse it with the same limits.
    inner = parse_xml(
        content.text.strip().encode("utf-8"), max_bytes=max_bytes, max_depth=max_depth
    )
    return inner.getroot(), {k: v for k, v in facts.items() if v}


def _envelope_error(envelope: str, message: str) -> InvalidMessage:
    return InvalidMessage(
        issues=[Issue(code="ENVELOPE_INVALID", message=message, location=f"/{envelope}")],
        summary=f"{envelope} envelope: {message}",
    )


def _detect_json(raw: bytes, max_bytes: int) -> Detected:
    document = load_json(raw, max_bytes=max_bytes)
    kind = document.get("documentType") if isinstance(document, dict) else None
    name = _JSON_FORMATS.get(kind) if isinstance(kind, str) else None
    if name is None:
        raise UnsupportedFormat(
            f"JSON document with documentType {kind!r}; accepted JSON documentType values: "
            f"{', '.join(sorted(_JSON_FORMATS))}"
        )
    return Detected(format=name, root=str(kind), namespace="", payload=raw, element=document)


def detect(
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    huge_tree: bool = False,
) -> Detected:
    """Classify ``raw``, unwrapping CJSE envelopes; ``UnsupportedFormat`` if unknown."""
    head = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        if len(raw) > max_bytes:
            raise InvalidMessage(
                issues=[Issue(code="JSON_TOO_LARGE", message=f"over {max_bytes} bytes")],
                summary="document too large",
            )
        return _detect_json(raw, max_bytes)
    element = parse_xml(
        raw, max_bytes=max_bytes, max_depth=max_depth, huge_tree=huge_tree
    ).getroot()
    envelope: dict[str, str] = {}
    namespace, local = _split(element.tag)
    if (namespace, local) == (CJSE_DELIVER_NS, "DeliverRequest"):
        element, envelope = _unwrap_deliver(element)
    elif (namespace, local) == (CJSE_OPERATIONS_NS, "RouteData"):
        element, envelope = _unwrap_route(element, max_bytes, max_depth)
    namespace, local = _split(element.tag)
    name = _XML_FORMATS.get((namespace, local))
    if name is None:
        inside = f" inside a {envelope['envelope']} envelope" if envelope else ""
        raise UnsupportedFormat(
            f"unsupported document: root element {local!r} in namespace "
            f"{namespace or '(none)'!r}{inside}; accepted formats: {', '.join(ACCEPTED)}"
        )
    payload = raw if not envelope else etree.tostring(element, encoding="utf-8")
    return Detected(
        format=name,
        root=local,
        namespace=namespace,
        payload=payload,
        envelope=envelope,
        element=element,
    )
