"""The partner service: gRPC wire contract conversions, server, client, security and audit.

The only room of the house that talks gRPC (with the generated stubs in ``matcher._proto``).
It sits above ``matcher.home`` and below the demo and the CLI: partners' queries come in as
``prum.v1`` messages, become the JSON-shaped dicts ``home.<category>.search`` takes, and the
answers go back as messages naming stored records by reference only (``convert``).
"""
