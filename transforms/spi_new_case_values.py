"""Value readers for the SPI NewCaseMessage transform: text, dates and times, codes,
BS7666 addresses, names and contact details. Part of ``transforms.spi_new_case``.

Inputs are schema-valid, so lexical forms are trusted; values the schema admits but Python
cannot hold (year 0 or 10000) raise ``Unmappable`` with the element, never a bare error.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from lxml import etree

from exchange.domain.casefile import Alcohol
from exchange.domain.common import Address, ContactDetails, Ethnicity, Gender, PersonName
from transforms.guard import Unmappable

L: Final = "{http://www.dca.gov.uk/xmlschemas/libra}"
BS: Final = "{http://www.govtalk.gov.uk/people/bs7666}"

_GENDERS: Final = {
    "0": Gender.NOT_KNOWN,
    "1": Gender.MALE,
    "2": Gender.FEMALE,
    "9": Gender.NOT_SPECIFIED,
}
# xsd:date and xsd:gYear may carry a timezone; a calendar date does not need it.
_DATE: Final = re.compile(r"(-?\d{4,})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_YEAR: Final = re.compile(r"(-?\d{4,})(?:Z|[+-]\d{2}:\d{2})?")
_TIME: Final = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?")


def text_of(parent: etree._Element | None, name: str) -> str | None:
    """Trimmed text of the child ``name`` (libra namespace unless qualified), or None."""
    if parent is None:
        return None
    child = parent.find(name if name.startswith("{") else L + name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def required_text(parent: etree._Element, name: str) -> str:
    # Validation guarantees presence; an empty-but-present value maps to "".
    return text_of(parent, name) or ""


def date_of(element: etree._Element | None) -> dt.date | None:
    if element is None or not (element.text or "").strip():
        return None
    match = _DATE.fullmatch(element.text.strip())
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    except ValueError:
        raise Unmappable(element, f"date {element.text.strip()!r} is outside 0001-9999") from None


def time_of(element: etree._Element | None) -> dt.time | None:
    if element is None or not (element.text or "").strip():
        return None
    match = _TIME.fullmatch(element.text.strip())
    if match is None:
        raise Unmappable(element, f"time {element.text.strip()!r} is not HH:MM:SS")
    hours, minutes, seconds, fraction, offset = match.groups()
    tz: dt.tzinfo | None = None
    if offset == "Z":
        tz = dt.UTC
    elif offset:
        sign = -1 if offset[0] == "-" else 1
        delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        tz = dt.timezone(sign * delta)
    # xsd:time allows 24:00:00 for end of day; Python spells it 00:00.
    hour = 0 if hours == "24" else int(hours)
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    return dt.time(hour, int(minutes), int(seconds), micros, tzinfo=tz)


def year_of(element: etree._Element | None) -> int | None:
    if element is None or not (element.text or "").strip():
        return None
    match = _YEAR.fullmatch(element.text.strip())
    if match is None:
        raise Unmappable(element, f"year {element.text.strip()!r} is not a calendar year")
    return int(match.group(1))


def child_of(parent: etree._Element | None, name: str) -> etree._Element | None:
    return None if parent is None else parent.find(L + name)


def int_of(parent: etree._Element | None, name: str) -> int | None:
    value = text_of(parent, name)
    return None if value is None else int(value)


def aon_of(parent: etree._Element, name: str) -> str | None:
    """Decode a BS7666 addressable object: start no.+suffix, end no.+suffix, then text.

    Read untrimmed: the leading blanks are the (empty) number fields.
    """
    child = parent.find(BS + name)
    if child is None or not (child.text or "").strip():
        return None
    padded = child.text.rstrip().ljust(10)

    def number(digits: str, suffix: str) -> str:
        d = digits.replace(" ", "")
        return (str(int(d)) if d else "") + suffix.strip()

    start, end = number(padded[0:4], padded[4]), number(padded[5:9], padded[9])
    span = f"{start}-{end}" if start and end else start or end
    return " ".join(p for p in (span, padded[10:].strip()) if p) or None


def address_of(element: etree._Element | None) -> Address | None:
    if element is None:
        return None
    return Address(
        saon=aon_of(element, "SAON"),
        paon=aon_of(element, "PAON"),
        street=text_of(element, BS + "StreetDescription"),
        usrn=int_of(element, BS + "UniqueStreetReferenceNumber"),
        locality=text_of(element, BS + "Locality"),
        town=text_of(element, BS + "Town"),
        administrative_area=text_of(element, BS + "AdministrativeArea"),
        post_town=text_of(element, BS + "PostTown"),
        postcode=text_of(element, BS + "PostCode"),
        uprn=int_of(element, BS + "UniquePropertyReferenceNumber"),
    )


def name_of(element: etree._Element | None) -> PersonName | None:
    if element is None:
        return None
    given = (text_of(element, f"PersonGivenName{i}") for i in (1, 2, 3))
    return PersonName(
        title=text_of(element, "PersonTitle"),
        given_names=tuple(g for g in given if g),
        family_name=text_of(element, "PersonFamilyName"),
    )


def contact_of(
    holder: etree._Element | None,
    *,
    phones: etree._Element | None = None,
    business: str | None = None,
) -> ContactDetails:
    emails = child_of(holder, "EmailDetails")
    return ContactDetails(
        phone_business=business or text_of(phones, "TelephoneNumberBusiness"),
        phone_home=text_of(phones, "TelephoneNumberHome"),
        phone_mobile=text_of(phones, "TelephoneNumberMobile"),
        fax=text_of(holder, "FAXnumber"),
        emails=tuple(
            e for e in (text_of(emails, "EmailAddress1"), text_of(emails, "EmailAddress2")) if e
        ),
        dx_address=text_of(holder, "DXaddress"),
    )


def ethnicity_of(element: etree._Element | None) -> Ethnicity | None:
    if element is None:
        return None
    return Ethnicity(
        observed_code=int_of(element, "ObservedEthnicity"),
        self_defined_code=text_of(element, "SelfDefinedEthnicity"),
    )


def gender_of(parent: etree._Element) -> Gender | None:
    code = text_of(parent, "Gender")
    # The schema allows leading/trailing blanks around the digit; strip() handled that.
    return None if code is None else _GENDERS[code]


def base_offence_fields(base: etree._Element) -> dict[str, Any]:
    """The canonical fields of an SPI ``BaseOffenceDetails``, which the police new case and
    the court result both carry: sequence, code, wording, timing, location, dates, alcohol
    and vehicle."""
    timing = base.find(L + "OffenceTiming")
    start, end = child_of(timing, "OffenceStart"), child_of(timing, "OffenceEnd")
    alcohol = child_of(base, "AlcoholRelatedOffence")
    vehicle = child_of(base, "VehicleRelatedOffence")
    return {
        "sequence": int_of(base, "OffenceSequenceNumber"),
        "code": required_text(base, "OffenceCode"),
        "wording": required_text(base, "OffenceWording"),
        "date_code": int_of(timing, "OffenceDateCode"),
        "start_date": date_of(child_of(start, "OffenceDateStartDate")),
        "start_time": time_of(child_of(start, "OffenceStartTime")),
        "end_date": date_of(child_of(end, "OffenceEndDate")),
        "end_time": time_of(child_of(end, "OffenceEndTime")),
        "location": text_of(base, "LocationOfOffence"),
        "arrest_date": date_of(child_of(base, "ArrestDate")),
        "charge_date": date_of(child_of(base, "ChargeDate")),
        "alcohol": None
        if alcohol is None
        else Alcohol(
            level=int_of(alcohol, "AlcoholLevelAmount"),
            method=required_text(alcohol, "AlcoholLevelMethod"),
        ),
        "vehicle_code": text_of(vehicle, "VehicleCode"),
        "vehicle_registration": text_of(vehicle, "VehicleRegistrationMark"),
    }
