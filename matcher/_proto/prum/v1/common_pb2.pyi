import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_KIND_UNSPECIFIED: _ClassVar[RecordKind]
    RECORD_KIND_PERSON: _ClassVar[RecordKind]
    RECORD_KIND_STAIN: _ClassVar[RecordKind]
    RECORD_KIND_LATENT: _ClassVar[RecordKind]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_DNA: _ClassVar[Category]
    CATEGORY_FINGER: _ClassVar[Category]
    CATEGORY_VEHICLE: _ClassVar[Category]
RECORD_KIND_UNSPECIFIED: RecordKind
RECORD_KIND_PERSON: RecordKind
RECORD_KIND_STAIN: RecordKind
RECORD_KIND_LATENT: RecordKind
CATEGORY_UNSPECIFIED: Category
CATEGORY_DNA: Category
CATEGORY_FINGER: Category
CATEGORY_VEHICLE: Category

class RequestHeader(_message.Message):
    __slots__ = ("request_id", "officer_id", "purpose", "case_reference", "sent_at", "ordering_officer_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    ORDERING_OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    officer_id: str
    purpose: str
    case_reference: str
    sent_at: _timestamp_pb2.Timestamp
    ordering_officer_id: str
    def __init__(self, request_id: _Optional[str] = ..., officer_id: _Optional[str] = ..., purpose: _Optional[str] = ..., case_reference: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ordering_officer_id: _Optional[str] = ...) -> None: ...

class AnswerHeader(_message.Message):
    __slots__ = ("request_id", "answer_id", "partner", "received_at", "answered_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    answer_id: str
    partner: str
    received_at: _timestamp_pb2.Timestamp
    answered_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., answer_id: _Optional[str] = ..., partner: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., answered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
