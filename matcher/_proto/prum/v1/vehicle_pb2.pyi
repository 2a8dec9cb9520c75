from matcher._proto.prum.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VehicleKey(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VEHICLE_KEY_UNSPECIFIED: _ClassVar[VehicleKey]
    VEHICLE_KEY_PLATE: _ClassVar[VehicleKey]
    VEHICLE_KEY_VIN: _ClassVar[VehicleKey]
VEHICLE_KEY_UNSPECIFIED: VehicleKey
VEHICLE_KEY_PLATE: VehicleKey
VEHICLE_KEY_VIN: VehicleKey

class LookupVehicleRequest(_message.Message):
    __slots__ = ("header", "queries")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.RequestHeader
    queries: _containers.RepeatedCompositeFieldContainer[VehicleQuery]
    def __init__(self, header: _Optional[_Union[_common_pb2.RequestHeader, _Mapping]] = ..., queries: _Optional[_Iterable[_Union[VehicleQuery, _Mapping]]] = ...) -> None: ...

class VehicleQuery(_message.Message):
    __slots__ = ("reference", "country", "plate", "vin", "tolerant")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    TOLERANT_FIELD_NUMBER: _ClassVar[int]
    reference: str
    country: str
    plate: str
    vin: str
    tolerant: bool
    def __init__(self, reference: _Optional[str] = ..., country: _Optional[str] = ..., plate: _Optional[str] = ..., vin: _Optional[str] = ..., tolerant: _Optional[bool] = ...) -> None: ...

class LookupVehicleResponse(_message.Message):
    __slots__ = ("header", "answers")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.AnswerHeader
    answers: _containers.RepeatedCompositeFieldContainer[VehicleAnswer]
    def __init__(self, header: _Optional[_Union[_common_pb2.AnswerHeader, _Mapping]] = ..., answers: _Optional[_Iterable[_Union[VehicleAnswer, _Mapping]]] = ...) -> None: ...

class VehicleAnswer(_message.Message):
    __slots__ = ("query", "hit", "hits")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    query: str
    hit: bool
    hits: _containers.RepeatedCompositeFieldContainer[VehicleHit]
    def __init__(self, query: _Optional[str] = ..., hit: _Optional[bool] = ..., hits: _Optional[_Iterable[_Union[VehicleHit, _Mapping]]] = ...) -> None: ...

class VehicleHit(_message.Message):
    __slots__ = ("reference", "matched_on", "tolerant")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_ON_FIELD_NUMBER: _ClassVar[int]
    TOLERANT_FIELD_NUMBER: _ClassVar[int]
    reference: str
    matched_on: VehicleKey
    tolerant: bool
    def __init__(self, reference: _Optional[str] = ..., matched_on: _Optional[_Union[VehicleKey, str]] = ..., tolerant: _Optional[bool] = ...) -> None: ...
