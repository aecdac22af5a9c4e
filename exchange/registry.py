"""Agency adapters: what each agency sends in and what it receives, discovered by entry point.

An adapter package (``adapters/police``, ``adapters/cps``, ``adapters/courts``, or a new one
for prisons or probation) exposes an :class:`Adapter` under the ``exchange.adapters`` entry
point group; the hub never imports agency code by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from exchange.domain.documents import Parsed
from exchange.domain.envelope import Agency, Envelope, MessageType
from exchange.domain.errors import InvalidMessage, Issue
from exchange.formats import Detected
from exchange.standingdata import StandingData

ENTRY_POINT_GROUP = "exchange.adapters"


@dataclass(frozen=True)
class Inbound:
    """A format an agency sends to the hub: how it is validated and mapped to canonical.

    ``validate`` returns every schema issue (empty when valid); ``to_canonical`` maps a valid
    document, returning :class:`Parsed` when it carried binaries for the document store;
    ``quality`` applies data-quality rules to the canonical payload (errors reject, warnings
    are recorded).
    """

    format: str
    message_type: MessageType
    validate: Callable[[Detected], list[Issue]]
    to_canonical: Callable[[Detected], BaseModel | Parsed]
    case_urn: Callable[[Any], str]
    asns: Callable[[Any], list[str]] = lambda _payload: []
    quality: Callable[[Any, StandingData], list[Issue]] = lambda _payload, _sd: []
    causation_id: Callable[[Any], uuid.UUID | None] = lambda _payload: None

    def parse(self, detected: Detected) -> Parsed:
        """Validate and map, raising ``InvalidMessage`` with every issue found."""
        errors = [i for i in self.validate(detected) if i.severity == "error"]
        if errors:
            raise InvalidMessage(
                issues=errors,
                summary=f"{self.format} document is invalid: {len(errors)} error(s)",
            )
        mapped = self.to_canonical(detected)
        parsed = mapped if isinstance(mapped, Parsed) else Parsed(mapped)
        return parsed


@dataclass(frozen=True)
class Outbound:
    """A canonical message type an agency receives, rendered in its own format."""

    destination: Agency
    message_type: MessageType
    format: str
    render: Callable[[Any, Envelope], dict[str, Any]]
    organisation: Callable[[Any], str | None] = lambda _payload: None

    @property
    def consumer_name(self) -> str:
        return f"{self.destination.value}.{self.format}"


@dataclass(frozen=True)
class Adapter:
    agency: Agency
    system: str
    inbound: tuple[Inbound, ...] = ()
    outbound: tuple[Outbound, ...] = ()


@dataclass
class Registry:
    adapters: list[Adapter] = field(default_factory=list)

    @classmethod
    def discover(cls) -> Registry:
        loaded = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
        return cls(sorted(loaded, key=lambda a: a.agency.value))

    def adapter(self, agency: Agency) -> Adapter:
        for adapter in self.adapters:
            if adapter.agency is agency:
                return adapter
        raise LookupError(f"no adapter registered for agency {agency.value!r}")

    def inbound(self, agency: Agency, fmt: str) -> Inbound:
        for item in self.adapter(agency).inbound:
            if item.format == fmt:
                return item
        raise LookupError(f"agency {agency.value!r} does not accept format {fmt!r}")

    def inbound_for_format(self, fmt: str) -> Inbound | None:
        """Whichever agency sends ``fmt`` (format names are unique across agencies)."""
        for adapter in self.adapters:
            for item in adapter.inbound:
                if item.format == fmt:
                    return item
        return None

    def formats(self) -> list[str]:
        return sorted(i.format for a in self.adapters for i in a.inbound)

    def outbound_for(self, message_type: MessageType) -> list[Outbound]:
        return [o for a in self.adapters for o in a.outbound if o.message_type is message_type]

    def all_outbound(self) -> Iterable[Outbound]:
        return (o for a in self.adapters for o in a.outbound)
