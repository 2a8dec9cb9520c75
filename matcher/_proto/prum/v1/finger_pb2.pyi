from matcher._proto.prum.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MinutiaType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MINUTIA_TYPE_UNSPECIFIED: _ClassVar[MinutiaType]
    MINUTIA_TYPE_ENDING: _ClassVar[MinutiaType]
    MINUTIA_TYPE_BIFURCATION: _ClassVar[MinutiaType]
    MINUTIA_TYPE_OTHER: _ClassVar[MinutiaType]
MINUTIA_TYPE_UNSPECIFIED: MinutiaType
MINUTIA_TYPE_ENDING: MinutiaType
MINUTIA_TYPE_BIFURCATION: MinutiaType
MINUTIA_TYPE_OTHER: MinutiaType

class SearchFingerRequest(_message.Message):
    __slots__ = ("header", "queries")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.RequestHeader
    queries: _containers.RepeatedCompositeFieldContainer[FingerQuery]
    def __init__(self, header: _Optional[_Union[_common_pb2.RequestHeader, _Mapping]] = ..., queries: _Optional[_Iterable[_Union[FingerQuery, _Mapping]]] = ...) -> None: ...

class FingerQuery(_message.Message):
    __slots__ = ("reference", "kind", "fingers")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FINGERS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: _common_pb2.RecordKind
    fingers: _containers.RepeatedCompositeFieldContainer[FingerImpression]
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., fingers: _Optional[_Iterable[_Union[FingerImpression, _Mapping]]] = ...) -> None: ...

class FingerImpression(_message.Message):
    __slots__ = ("position", "template", "minutiae")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    MINUTIAE_FIELD_NUMBER: _ClassVar[int]
    position: int
    template: bytes
    minutiae: Minutiae
    def __init__(self, position: _Optional[int] = ..., template: _Optional[bytes] = ..., minutiae: _Optional[_Union[Minutiae, _Mapping]] = ...) -> None: ...

class Minutiae(_message.Message):
    __slots__ = ("width", "height", "resolution_dpi", "points")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_DPI_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    resolution_dpi: int
    points: _containers.RepeatedCompositeFieldContainer[Minutia]
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., resolution_dpi: _Optional[int] = ..., points: _Optional[_Iterable[_Union[Minutia, _Mapping]]] = ...) -> None: ...

class Minutia(_message.Message):
    __slots__ = ("x", "y", "angle_degrees", "type", "quality")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    ANGLE_DEGREES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    angle_degrees: float
    type: MinutiaType
    quality: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., angle_degrees: _Optional[float] = ..., type: _Optional[_Union[MinutiaType, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class SearchFingerResponse(_message.Message):
    __slots__ = ("header", "answers")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.AnswerHeader
    answers: _containers.RepeatedCompositeFieldContainer[FingerAnswer]
    def __init__(self, header: _Optional[_Union[_common_pb2.AnswerHeader, _Mapping]] = ..., answers: _Optional[_Iterable[_Union[FingerAnswer, _Mapping]]] = ...) -> None: ...

class FingerAnswer(_message.Message):
    __slots__ = ("query", "hit", "candidates")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    query: str
    hit: bool
    candidates: _containers.RepeatedCompositeFieldContainer[FingerCandidate]
    def __init__(self, query: _Optional[str] = ..., hit: _Optional[bool] = ..., candidates: _Optional[_Iterable[_Union[FingerCandidate, _Mapping]]] = ...) -> None: ...

class FingerCandidate(_message.Message):
    __slots__ = ("reference", "kind", "position", "score", "hit")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: _common_pb2.RecordKind
    position: int
    score: float
    hit: bool
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.RecordKind, str]] = ..., position: _Optional[int] = ..., score: _Optional[float] = ..., hit: _Optional[bool] = ...) -> None: ...
