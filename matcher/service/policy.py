"""Per-partner policy: who may ask what, how much of it per day, and whether a request says
who asks and why.  Each check raises a ``Refusal`` (see ``refusals``) or returns quietly.

The order of checks is the order of the questions a contact point asks: who are you
(certificate), may you ask this at all (policy), who in your state asks and why (header),
is the question well-formed (queries), and have you asked too much today (quota).  Quota is
taken last, so a refused or malformed request costs the partner nothing.
"""

from __future__ import annotations

import re
import threading

from matcher.service import refusals
from matcher.service.quotas import QuotaDecision, Quotas
from matcher.service.settings import NodeSettings, PartnerPolicy

#: Header text limits (prum.v1 RequestHeader).
MAX_OFFICER_LENGTH = 64
MAX_PURPOSE_LENGTH = 256
MAX_CASE_REFERENCE_LENGTH = 64
_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def authorise(settings: NodeSettings, partner: str | None, category: str | None) -> PartnerPolicy:
    """The caller's policy when ``partner`` may query ``category`` (None: any category)."""
    if not partner:
        raise refusals.unauthenticated("its certificate names no partner code")
    policy = settings.policy.get(partner)
    if policy is None:
        raise refusals.unknown_partner(partner)
    if category is not None and category not in policy.categories:
        raise refusals.not_granted(partner, category)
    return policy


def check_header(header, has_header: bool) -> None:
    """INVALID_ARGUMENT naming every bad field of a prum.v1 RequestHeader."""
    if not has_header:
        raise refusals.bad_request([("header", "missing: every request says who asks and why")])
    problems: list[tuple[str, str]] = []
    if not header.request_id:
        problems.append(("header.request_id", "missing: a UUID chosen by the caller"))
    elif not _CANONICAL_UUID.match(header.request_id.lower()):
        problems.append(("header.request_id", f"{header.request_id[:64]!r} is not canonical "
                                              "UUID text (8-4-4-4-12 hex digits)"))
    for name, limit, required in (("officer_id", MAX_OFFICER_LENGTH, True),
                                  ("purpose", MAX_PURPOSE_LENGTH, True),
                                  ("case_reference", MAX_CASE_REFERENCE_LENGTH, False),
                                  ("ordering_officer_id", MAX_OFFICER_LENGTH, False)):
        problem = _text_problem(getattr(header, name), limit, required)
        if problem:
            problems.append((f"header.{name}", problem))
    if problems:
        raise refusals.bad_request(problems)


def _text_problem(value: str, limit: int, required: bool) -> str | None:
    if not value:
        return "missing" if required else None
    if len(value) > limit:
        return f"{len(value)} characters, at most {limit}"
    if not value.isprintable():
        return "contains a control or other non-printable character"
    return None


def check_count(policy: PartnerPolicy, category: str, count: int) -> None:
    """A request carries 1 to ``max_queries_per_request`` queries."""
    if count == 0:
        raise refusals.bad_request([("queries", "empty: a request carries at least one query")])
    if count > policy.max_queries_per_request:
        raise refusals.too_many_queries(policy.code, category, count,
                                        policy.max_queries_per_request)


class QuotaGate:
    """Takes a request's queries from its partner's daily quotas, all or nothing.

    A fingerprint request may need two counters (tenprint and latent searches); the lock
    makes "check both, then take both" atomic within this node, the only process that takes
    quotas from its home."""

    def __init__(self, quotas: Quotas):
        self.quotas = quotas
        self._lock = threading.Lock()

    def take(self, policy: PartnerPolicy, counts: dict[str, int]) -> None:
        """Count ``counts`` (quota key -> queries) or raise RESOURCE_EXHAUSTED naming the
        first quota that would overflow (nothing counted then).  Blocking: run it in an
        executor."""
        wanted = {key: n for key, n in counts.items() if n}
        with self._lock:
            if len(wanted) > 1:
                for key, n in wanted.items():
                    used = self.quotas.usage(policy.code, key)
                    if used + n > policy.daily_quota[key]:
                        raise refusals.quota_exhausted(policy.code, key, n, used,
                                                       policy.daily_quota[key])
            for key, n in wanted.items():
                decision = self.quotas.take(policy.code, key, n, policy.daily_quota[key])
                if not decision.granted:
                    raise refusals.quota_exhausted(policy.code, key, n, decision.used,
                                                   policy.daily_quota[key])

    def take_one(self, policy: PartnerPolicy, key: str, count: int) -> QuotaDecision:
        """Count ``count`` against the one quota ``key`` and return the decision (today's
        use after it and the limit), or raise RESOURCE_EXHAUSTED (nothing counted then).
        Bulk DNA batches use it: their answer reports the budget left.  Blocking."""
        with self._lock:
            decision = self.quotas.take(policy.code, key, count, policy.daily_quota[key])
        if not decision.granted:
            raise refusals.quota_exhausted(policy.code, key, count, decision.used,
                                           policy.daily_quota[key])
        return decision

    def used_today(self, partner: str, key: str) -> int:
        return self.quotas.usage(partner, key)
