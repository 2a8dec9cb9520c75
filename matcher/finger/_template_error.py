"""The one error every template codec raises: :class:`TemplateError`."""

from __future__ import annotations


class TemplateError(ValueError):
    """A template or JSON finger that cannot be accepted.

    ``field`` locates the problem (``header.record_length``, ``fingers[1].minutiae[17].x``,
    ``fingers[0].template.fingers[0].position``); ``message`` says what was found and what
    was expected; ``record`` optionally names the record (its reference) for callers that
    handle many.
    """

    def __init__(self, field: str, message: str, record: str | None = None):
        self.field = field
        self.message = message
        self.record = record
        super().__init__(f"{record}: {field}: {message}" if record else f"{field}: {message}")

    def __reduce__(self):
        return (type(self), (self.field, self.message, self.record))

    def within(self, prefix: str) -> "TemplateError":
        """The same error with its field nested under ``prefix`` (e.g. ``fingers[2].template``)."""
        return TemplateError(f"{prefix}.{self.field}", self.message, self.record)
