"""Vehicle records and queries: raw input turned into ``Registration`` and ``VehicleQuery``
values, collecting every problem, each naming its field."""

from __future__ import annotations

import json
from dataclasses import dataclass

from matcher.records import DuplicateKeys, check_reference
from matcher.vehicle._keys import plate_key
from matcher.vehicle.countries import CountryError, normalise_country
from matcher.vehicle.plates import PlateError, normalise_plate
from matcher.vehicle.vin import VinError, parse_vin

#: Store flag: the VIN carries the correct North American check digit in position 9.
FLAG_VIN_CHECK_DIGIT = 1


class RecordRejected(ValueError):
    """A record or query that fails validation; ``reasons`` lists every problem, each
    naming its field."""

    def __init__(self, reference: str | None, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reference = reference
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class Registration:
    """A normalised, accepted record.  ``country`` may be None only without a plate."""

    reference: str
    country: str | None
    plate: str | None
    vin: str | None
    flags: int

    @property
    def plate_key(self) -> str | None:
        return plate_key(self.country, self.plate) if self.plate else None

    def body(self) -> str:
        """The normalised fields as compact JSON, the form kept in the store."""
        fields = {"country": self.country, "plate": self.plate, "vin": self.vin}
        return json.dumps({k: v for k, v in fields.items() if v is not None},
                          separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class VehicleQuery:
    """A normalised query: ``key`` is a plate key or a VIN, ``matched_on`` says which."""

    reference: str | None
    key: str
    matched_on: str
    tolerant: bool


def _fields(raw: object) -> tuple[dict, str | None, list[str]]:
    """The record as a dict, its reference if it has a usable one, and the first problems."""
    if isinstance(raw, DuplicateKeys):
        names = [name for name, _ in raw]
        data = dict(raw)
        reasons = [f"{name}: field given twice" for name in sorted({n for n in names
                                                                    if names.count(n) > 1})]
    elif isinstance(raw, dict):
        data, reasons = raw, []
    else:
        kind = "array" if isinstance(raw, list) else type(raw).__name__
        raise RecordRejected(None, [f"record: expected a JSON object, got {kind}"])
    reference = data.get("reference")
    return data, reference if isinstance(reference, str) else None, reasons


def _given(value: object) -> bool:
    """Absent is missing, null, or text that is only white space."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _keys(data: dict, reasons: list[str]):
    """(country, plate, parsed VIN) of a record or query, each None when absent or bad."""
    country = plate = vin = None
    if _given(data.get("country")):
        try:
            country = normalise_country(data["country"])
        except CountryError as exc:
            reasons.append(str(exc))
    if _given(data.get("plate")):
        try:
            plate = normalise_plate(data["plate"])
        except PlateError as exc:
            reasons.append(str(exc))
        if not _given(data.get("country")):
            reasons.append("country: missing; a plate is only meaningful with its country "
                           "of registration")
    if _given(data.get("vin")):
        try:
            vin = parse_vin(data["vin"])
        except VinError as exc:
            reasons.append(str(exc))
    return country, plate, vin


def normalise_record(raw: object) -> Registration:
    """A Registration from one raw record, or RecordRejected with every reason."""
    data, reference, reasons = _fields(raw)
    problem = check_reference(data.get("reference"), required=True)
    if problem:
        reasons.append(problem)
    country, plate, vin = _keys(data, reasons)
    if not _given(data.get("plate")) and not _given(data.get("vin")):
        reasons.append("plate, vin: a record needs a plate (with its country) or a VIN")
    if reasons:
        raise RecordRejected(reference, reasons)
    flags = FLAG_VIN_CHECK_DIGIT if vin is not None and vin.check_digit_ok else 0
    return Registration(reference, country, plate, vin.text if vin else None, flags)


def normalise_query(raw: object) -> VehicleQuery:
    """A VehicleQuery: ``country`` + ``plate`` (searched in that country) or ``vin``
    (searched across all countries; a country given with it is checked, not used), optional
    ``reference`` and ``tolerant`` (true: also ANPR look-alike keys)."""
    data, reference, reasons = _fields(raw)
    problem = check_reference(data.get("reference"), required=False)
    if problem:
        reasons.append(problem)
    tolerant = data.get("tolerant", False)
    if not isinstance(tolerant, bool):
        reasons.append(f"tolerant: must be true or false, got {json.dumps(tolerant)}")
    has_plate, has_vin = _given(data.get("plate")), _given(data.get("vin"))
    if has_plate and has_vin:
        reasons.append("plate, vin: a query searches by country + plate or by vin, not both")
    elif not (has_plate or has_vin):
        reasons.append("plate, vin: a query needs country + plate, or vin")
    country, plate, vin = _keys(data, reasons)
    if reasons:
        raise RecordRejected(reference, reasons)
    if plate is not None:
        return VehicleQuery(reference, plate_key(country, plate), "plate", tolerant)
    return VehicleQuery(reference, vin.text, "vin", tolerant)
