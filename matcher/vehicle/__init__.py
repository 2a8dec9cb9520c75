"""Vehicle registrations: plate and VIN normalisation, exact and ANPR-tolerant lookup.

Prüm vehicle searches ask by registration plate within one country or by VIN across all
countries; answers name matching records by reference only.  ``home.vehicle`` is a
``VehicleDatabase``; the normalisers are usable on their own::

    >>> normalise_plate("B-AB 1234"), normalise_country("D"), parse_vin("1M8GDM9AXKP042788")
    ('BAB1234', 'DE', Vin(text='1M8GDM9AXKP042788', check_digit='X', check_digit_ok=True))
"""

from matcher.vehicle.countries import CountryError, normalise_country
from matcher.vehicle.database import (
    AddReport, DeleteReport, RecordRejected, Registration, VehicleDatabase, VehicleQuery,
    normalise_query, normalise_record,
)
from matcher.vehicle.plates import PlateError, normalise_plate, tolerant_plate
from matcher.vehicle.vin import Vin, VinError, check_digit, normalise_vin, parse_vin

__all__ = [
    "AddReport", "CountryError", "DeleteReport", "PlateError", "RecordRejected", "Registration",
    "VehicleDatabase", "VehicleQuery", "Vin", "VinError", "check_digit", "normalise_country",
    "normalise_plate", "normalise_query", "normalise_record", "normalise_vin", "parse_vin",
    "tolerant_plate",
]
