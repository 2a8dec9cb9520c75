from matcher._proto.prum.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ("header",)
    HEADER_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.RequestHeader
    def __init__(self, header: _Optional[_Union[_common_pb2.RequestHeader, _Mapping]] = ...) -> None: ...

class GetCapabilitiesResponse(_message.Message):
    __slots__ = ("header", "caller_partner", "grants", "dna_loci", "max_message_bytes", "dna_min_designated_loci", "dna_min_matching_loci", "dna_max_mismatches")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CALLER_PARTNER_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    DNA_LOCI_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DNA_MIN_DESIGNATED_LOCI_FIELD_NUMBER: _ClassVar[int]
    DNA_MIN_MATCHING_LOCI_FIELD_NUMBER: _ClassVar[int]
    DNA_MAX_MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.AnswerHeader
    caller_partner: str
    grants: _containers.RepeatedCompositeFieldContainer[CategoryGrant]
    dna_loci: _containers.RepeatedScalarFieldContainer[str]
    max_message_bytes: int
    dna_min_designated_loci: int
    dna_min_matching_loci: int
    dna_max_mismatches: int
    def __init__(self, header: _Optional[_Union[_common_pb2.AnswerHeader, _Mapping]] = ..., caller_partner: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[CategoryGrant, _Mapping]]] = ..., dna_loci: _Optional[_Iterable[str]] = ..., max_message_bytes: _Optional[int] = ..., dna_min_designated_loci: _Optional[int] = ..., dna_min_matching_loci: _Optional[int] = ..., dna_max_mismatches: _Optional[int] = ...) -> None: ...

class CategoryGrant(_message.Message):
    __slots__ = ("category", "daily_quota", "used_today", "max_queries_per_request", "finger_candidate_limit", "latent_daily_quota", "latent_used_today", "bulk_daily_quota", "bulk_used_today")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DAILY_QUOTA_FIELD_NUMBER: _ClassVar[int]
    USED_TODAY_FIELD_NUMBER: _ClassVar[int]
    MAX_QUERIES_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    FINGER_CANDIDATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    LATENT_DAILY_QUOTA_FIELD_NUMBER: _ClassVar[int]
    LATENT_USED_TODAY_FIELD_NUMBER: _ClassVar[int]
    BULK_DAILY_QUOTA_FIELD_NUMBER: _ClassVar[int]
    BULK_USED_TODAY_FIELD_NUMBER: _ClassVar[int]
    category: _common_pb2.Category
    daily_quota: int
    used_today: int
    max_queries_per_request: int
    finger_candidate_limit: int
    latent_daily_quota: int
    latent_used_today: int
    bulk_daily_quota: int
    bulk_used_today: int
    def __init__(self, category: _Optional[_Union[_common_pb2.Category, str]] = ..., daily_quota: _Optional[int] = ..., used_today: _Optional[int] = ..., max_queries_per_request: _Optional[int] = ..., finger_candidate_limit: _Optional[int] = ..., latent_daily_quota: _Optional[int] = ..., latent_used_today: _Optional[int] = ..., bulk_daily_quota: _Optional[int] = ..., bulk_used_today: _Optional[int] = ...) -> None: ...
