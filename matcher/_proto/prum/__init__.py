"""Namespace of the ``prum`` protobuf packages; ``v1`` holds the generated stubs."""
