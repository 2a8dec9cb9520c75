"""Generated protobuf and gRPC stubs of package prum.v1 (proto/prum/v1/*.proto).

Do not edit: regenerate with ``python -m matcher._proto.generate``.
"""
