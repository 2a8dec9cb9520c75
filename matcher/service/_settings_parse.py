"""Reading a node configuration's TOML tables into ``matcher.service.settings`` objects.

Private to ``matcher.service.settings`` (use its ``load_settings``).  Every check raises
SettingsError naming the dotted key (``policy.DE.daily_quota.dna``); ``load_settings`` adds
the file name in front.
"""

from __future__ import annotations

from pathlib import Path

from matcher.service.audit import DEFAULT_SYNC_SECONDS
from matcher.service.settings import (
    CATEGORIES, DEFAULT_AUDIT_RETENTION_DAYS, DEFAULT_COMPARE_TIMEOUT_SECONDS,
    DEFAULT_DAILY_QUOTA, DEFAULT_EXECUTOR_THREADS, DEFAULT_FINGER_CANDIDATE_LIMIT,
    DEFAULT_GRACE_SECONDS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_QUERIES_PER_REQUEST,
    DEFAULT_TIMEOUT_SECONDS, PARTNER_CODE, QUOTA_KEYS, NodeSettings,
    PartnerEndpoint, PartnerPolicy, SettingsError, TlsFiles, split_address,
)

#: The settings each table accepts; anything else is an error naming the key (catches typos).
ROOT_KEYS = ("node", "tls", "policy", "partners")
NODE_KEYS = ("partner", "home", "listen", "reflection", "max_message_bytes",
             "executor_threads", "grace_seconds", "audit_retention_days",
             "audit_sync_seconds", "timeout_seconds", "compare_timeout_seconds")
TLS_KEYS = ("ca", "cert", "key")
POLICY_KEYS = ("categories", "daily_quota", "finger_candidate_limit", "max_queries_per_request")
ENDPOINT_KEYS = ("address", "server_name", "timeout_seconds")
#: Where a node listens when ``node.listen`` is not given: loopback only, so a node started
#: without thinking about it is not reachable from the network.
DEFAULT_LISTEN = "127.0.0.1:50051"
#: Longest deadline a partner call may be given (seconds): one day.
MAX_TIMEOUT_SECONDS = 86_400


class _Table:
    """A TOML table that remembers its dotted name, so every error names the key."""

    def __init__(self, data: object, name: str, known: tuple[str, ...]):
        if not isinstance(data, dict):
            raise SettingsError(f"{name}: expected a table, got {type(data).__name__}")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SettingsError(f"{name}.{unknown[0]}: unknown setting (known: {', '.join(known)})")
        self.data, self.name = data, name

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get(self, key: str, kind: type | tuple, default=None, *, required: bool = False):
        if key not in self.data:
            if required:
                raise SettingsError(f"{self.key(key)}: missing")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are not integers here, although Python says so.
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise SettingsError(f"{self.key(key)}: expected {names}, got {value!r}")
        return value

    def number(self, key: str, default, low, high, kind=int):
        value = self.get(key, (int, float) if kind is float else int, default)
        if not low <= value <= high:
            raise SettingsError(f"{self.key(key)}: must be in {low}..{high}, got {value!r}")
        return kind(value)

    def partner_tables(self, key: str) -> _Table:
        """The optional table ``key`` whose keys are partner codes (``[policy.DE]``)."""
        tables = self.get(key, dict, {})
        return _Table(tables, self.key(key), tuple(tables))

    def partner_table(self, code: str, known: tuple[str, ...]) -> _Table:
        """Sub-table ``code`` of a partner_tables() table, after checking the code."""
        key = self.key(code)
        _partner_code(code, key)
        return _Table(self.data[code], key, known)


def _partner_code(code: str, key: str) -> str:
    if not isinstance(code, str) or not PARTNER_CODE.match(code):
        raise SettingsError(f"{key}: partner code must be 2-8 upper-case letters or digits, "
                            f"starting with a letter, got {code!r}")
    return code


def _address(value: str, key: str) -> str:
    try:
        split_address(value)
    except ValueError as exc:
        raise SettingsError(f"{key}: {exc}") from None
    return value


def parse(path: Path, data: dict) -> NodeSettings:
    """The NodeSettings of the decoded TOML ``data`` read from ``path`` (paths in it are
    relative to the file's folder)."""
    root = _Table(data, "", ROOT_KEYS)
    node = _Table(root.get("node", dict, required=True), "node", NODE_KEYS)
    base = path.parent
    partner = _partner_code(node.get("partner", str, required=True), "node.partner")
    tls = _Table(root.get("tls", dict, required=True), "tls", TLS_KEYS)
    tls_files = TlsFiles(*(base / tls.get(k, str, required=True) for k in TLS_KEYS))
    policies = root.partner_tables("policy")
    partners = root.partner_tables("partners")
    return NodeSettings(
        path=path,
        partner=partner,
        home=base / node.get("home", str, required=True),
        listen=_address(node.get("listen", str, DEFAULT_LISTEN), "node.listen"),
        tls=tls_files,
        reflection=node.get("reflection", bool, False),
        max_message_bytes=node.number("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES,
                                      1024, 1 << 30),
        executor_threads=node.number("executor_threads", DEFAULT_EXECUTOR_THREADS, 1, 64),
        grace_seconds=node.number("grace_seconds", DEFAULT_GRACE_SECONDS, 0, 3600, float),
        audit_retention_days=node.number("audit_retention_days", DEFAULT_AUDIT_RETENTION_DAYS,
                                         1, 36_500),
        audit_sync_seconds=node.number("audit_sync_seconds", DEFAULT_SYNC_SECONDS, 0, 60,
                                       float),
        timeout_seconds=node.number("timeout_seconds", DEFAULT_TIMEOUT_SECONDS, 0.001,
                                    MAX_TIMEOUT_SECONDS, float),
        compare_timeout_seconds=node.number("compare_timeout_seconds",
                                            DEFAULT_COMPARE_TIMEOUT_SECONDS, 0.001,
                                            7 * MAX_TIMEOUT_SECONDS, float),
        policy={code: _policy(code, policies) for code in policies.data},
        partners={code: _endpoint(code, partners) for code in partners.data},
    )


def _policy(code: str, policies: _Table) -> PartnerPolicy:
    table = policies.partner_table(code, POLICY_KEYS)
    categories = table.get("categories", list, list(CATEGORIES))
    for i, category in enumerate(categories):
        if category not in CATEGORIES:
            raise SettingsError(f"{table.key('categories')}[{i}]: {category!r} is not one of "
                                f"{', '.join(CATEGORIES)}")
    quotas = _Table(table.get("daily_quota", dict, {}), table.key("daily_quota"), QUOTA_KEYS)
    daily = {name: quotas.number(name, DEFAULT_DAILY_QUOTA[name], 0, 1 << 40)
             for name in QUOTA_KEYS}
    return PartnerPolicy(
        code=code, categories=frozenset(categories), daily_quota=daily,
        finger_candidate_limit=table.number("finger_candidate_limit",
                                            DEFAULT_FINGER_CANDIDATE_LIMIT, 1, 100),
        max_queries_per_request=table.number("max_queries_per_request",
                                             DEFAULT_MAX_QUERIES_PER_REQUEST, 1, 1_000_000),
    )


def _endpoint(code: str, partners: _Table) -> PartnerEndpoint:
    table = partners.partner_table(code, ENDPOINT_KEYS)
    timeout = table.get("timeout_seconds", (int, float))
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise SettingsError(f"{table.key('timeout_seconds')}: must be in "
                            f"(0, {MAX_TIMEOUT_SECONDS}], got {timeout!r}")
    return PartnerEndpoint(
        code=code,
        address=_address(table.get("address", str, required=True), table.key("address")),
        server_name=table.get("server_name", str, code),
        timeout_seconds=None if timeout is None else float(timeout),
    )
