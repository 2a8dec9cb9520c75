from matcher._proto.prum.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DnaMatchQuality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DNA_MATCH_QUALITY_UNSPECIFIED: _ClassVar[DnaMatchQuality]
    DNA_MATCH_QUALITY_FULL: _ClassVar[DnaMatchQuality]
    DNA_MATCH_QUALITY_WILDCARD: _ClassVar[DnaMatchQuality]
    DNA_MATCH_QUALITY_MICROVARIANT: _ClassVar[DnaMatchQuality]
    DNA_MATCH_QUALITY_NEAR: _ClassVar[DnaMatchQuality]
DNA_MATCH_QUALITY_UNSPECIFIED: DnaMatchQuality
DNA_MATCH_QUALITY_FULL: DnaMatchQuality
DNA_MATCH_QUALITY_WILDCARD: DnaMatchQuality
DNA_MATCH_QUALITY_MICROVARIANT: DnaMatchQuality
DNA_MATCH_QUALITY_NEAR: DnaMatchQuality

class SearchDnaRequest(_message.Message):
    __slots__ = ("header", "queries")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.RequestHeader
    queries: _containers.RepeatedCompositeFieldContainer[DnaQuery]
    def __init__(self, header: _Optional[_Union[_common_pb2.RequestHeader, _Mapping]] = ..., queries: _Optional[_Iterable[_Union[DnaQuery, _Mapping]]] = ...) -> None: ...

class DnaQuery(_message.Message):
    __slots__ = ("reference", "kind", "loci")
    class LociEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Alleles
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Alleles, _Mapping]] = ...) -> None: ...
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCI_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: _common_pb2.RecordKind
    loci: _containers.MessageMap[str, Alleles]
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., loci: _Optional[_Mapping[str, Alleles]] = ...) -> None: ...

class Alleles(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class CompareDnaRequest(_message.Message):
    __slots__ = ("header", "queries")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.RequestHeader
    queries: _containers.RepeatedCompositeFieldContainer[DnaQuery]
    def __init__(self, header: _Optional[_Union[_common_pb2.RequestHeader, _Mapping]] = ..., queries: _Optional[_Iterable[_Union[DnaQuery, _Mapping]]] = ...) -> None: ...

class CompareDnaResponse(_message.Message):
    __slots__ = ("header", "answers", "daily_profile_quota", "profiles_used_today")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    DAILY_PROFILE_QUOTA_FIELD_NUMBER: _ClassVar[int]
    PROFILES_USED_TODAY_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.AnswerHeader
    answers: _containers.RepeatedCompositeFieldContainer[DnaAnswer]
    daily_profile_quota: int
    profiles_used_today: int
    def __init__(self, header: _Optional[_Union[_common_pb2.AnswerHeader, _Mapping]] = ..., answers: _Optional[_Iterable[_Union[DnaAnswer, _Mapping]]] = ..., daily_profile_quota: _Optional[int] = ..., profiles_used_today: _Optional[int] = ...) -> None: ...

class SearchDnaResponse(_message.Message):
    __slots__ = ("header", "answers")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.AnswerHeader
    answers: _containers.RepeatedCompositeFieldContainer[DnaAnswer]
    def __init__(self, header: _Optional[_Union[_common_pb2.AnswerHeader, _Mapping]] = ..., answers: _Optional[_Iterable[_Union[DnaAnswer, _Mapping]]] = ...) -> None: ...

class DnaAnswer(_message.Message):
    __slots__ = ("query", "hit", "hits")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    query: str
    hit: bool
    hits: _containers.RepeatedCompositeFieldContainer[DnaHit]
    def __init__(self, query: _Optional[str] = ..., hit: _Optional[bool] = ..., hits: _Optional[_Iterable[_Union[DnaHit, _Mapping]]] = ...) -> None: ...

class DnaHit(_message.Message):
    __slots__ = ("reference", "kind", "quality", "matching_loci", "compared_loci", "mismatches", "rmp", "likelihood_ratio", "expected_adventitious", "rmp_loci")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    MATCHING_LOCI_FIELD_NUMBER: _ClassVar[int]
    COMPARED_LOCI_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    RMP_FIELD_NUMBER: _ClassVar[int]
    LIKELIHOOD_RATIO_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ADVENTITIOUS_FIELD_NUMBER: _ClassVar[int]
    RMP_LOCI_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: _common_pb2.RecordKind
    quality: DnaMatchQuality
    matching_loci: int
    compared_loci: int
    mismatches: int
    rmp: float
    likelihood_ratio: float
    expected_adventitious: float
    rmp_loci: int
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., quality: _Optional[_Union[DnaMatchQuality, str]] = ..., matching_loci: _Optional[int] = ..., compared_loci: _Optional[int] = ..., mismatches: _Optional[int] = ..., rmp: _Optional[float] = ..., likelihood_ratio: _Optional[float] = ..., expected_adventitious: _Optional[float] = ..., rmp_loci: _Optional[int] = ...) -> None: ...
