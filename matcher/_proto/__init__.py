"""Generated protobuf and gRPC stubs of the partner wire contract (``proto/``), fenced here.

Import them as ``from matcher._proto.prum.v1 import dna_pb2, dna_pb2_grpc``.  Nothing in this
folder is edited by hand except ``generate.py``, which rewrites ``prum/v1/`` from the .proto
files (``python -m matcher._proto.generate``); a test fails when the committed stubs are stale.
Only ``matcher.service`` imports these modules.
"""
