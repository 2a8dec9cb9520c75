"""A node's service configuration (``matcher serve CONFIG.toml`` / ``matcher query CONFIG.toml``).

One TOML file says who this node is, where it listens, which certificates prove it, what each
partner may ask of it (the *policy*) and which partners it asks (the *partners*)::

    [node]
    partner = "NL"                  # this node's partner code (its certificate's common name)
    home = "nl-home"                # the home folder it serves; relative to this file
    listen = "127.0.0.1:50051"      # host:port; port 0 picks a free port
    reflection = false              # gRPC server reflection (off in production)
    max_message_bytes = 4194304     # largest request or answer, both directions (bytes)
    executor_threads = 2            # threads that run searches (kernels release the GIL)
    grace_seconds = 10              # SIGTERM: calls in flight get this long to finish
    audit_retention_days = 730      # Prüm Art. 30: logs are deleted after two years
    audit_sync_seconds = 1.0        # entries reach the disk within this; 0 = before each answer
    timeout_seconds = 10            # `matcher query`: deadline of each partner call
    compare_timeout_seconds = 3600  # `matcher query --nightly`: deadline of each CompareDna stream

    [tls]
    ca = "certs/ca.pem"             # the CA that signed every partner's certificate
    cert = "certs/NL.pem"           # this node's certificate (server and client)
    key = "certs/NL.key"

    [policy.DE]                     # what partner DE may ask this node
    categories = ["dna", "finger", "vehicle"]
    finger_candidate_limit = 10
    daily_quota = { dna = 1000, finger = 100, finger_latent = 20, vehicle = 10000,
                    dna_bulk = 2000000 }    # dna_bulk: profiles per day in CompareDna

    [partners.DE]                   # a partner this node asks
    address = "127.0.0.1:50052"
    server_name = "DE"              # name its server certificate must carry (default: code)

A partner without a ``[policy.X]`` table is unknown to this node and refused.  Every error
names the key (``policy.DE.daily_quota.dna``) and the file.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from matcher.service.audit import DEFAULT_RETENTION_DAYS, DEFAULT_SYNC_SECONDS

#: The three data categories of the Prüm exchange, as named in configs and quotas.
CATEGORIES = ("dna", "finger", "vehicle")
#: Quota counters: one per category, plus latent fingerprint searches, which Prüm budgets
#: separately (notes/prum.md: 100 tenprint searches but only 20 latent searches a day), plus
#: bulk DNA comparison (CompareDna), budgeted in profiles apart from single DNA searches.
QUOTA_KEYS = ("dna", "finger", "finger_latent", "vehicle", "dna_bulk")
#: The quota key of bulk DNA comparison (CompareDna): profiles per partner and UTC day.
BULK_QUOTA_KEY = "dna_bulk"
#: Default daily search capacities per partner.  Fingerprints are the published Prüm-type
#: figures (notes/prum.md); DNA and vehicles have no published per-partner cap, so the
#: defaults are generous operating limits that still stop a runaway client.  Bulk DNA is
#: counted in profiles: 2,000,000 a day lets a partner's whole stain collection be compared on
#: connection (national stain collections are in the hundreds of thousands) and a nightly delta
#: many times over, while a runaway client is still stopped within a day.
DEFAULT_DAILY_QUOTA = {"dna": 1_000, "finger": 100, "finger_latent": 20, "vehicle": 10_000,
                       BULK_QUOTA_KEY: 2_000_000}
#: Prüm-type candidate limit: latent against tenprints lists at most 10 candidates, the
#: largest of the published limits; set 1 for a tenprint-only exchange.
DEFAULT_FINGER_CANDIDATE_LIMIT = 10
#: gRPC's own default message limit (4 MiB); a tenprint with ten templates is ~20 KB.
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
DEFAULT_EXECUTOR_THREADS = 2
DEFAULT_GRACE_SECONDS = 10.0
#: Prüm (2008/615/JHA Art. 30): log entries are deleted after two years.
DEFAULT_AUDIT_RETENTION_DAYS = DEFAULT_RETENTION_DAYS
#: Deadline of one partner call made by `matcher query` (seconds).
DEFAULT_TIMEOUT_SECONDS = 10.0
#: Most queries one request may carry (a nightly bulk batch is split by the client).
DEFAULT_MAX_QUERIES_PER_REQUEST = 1_000
#: Deadline of one CompareDna stream made by `matcher query --nightly` (seconds): a whole
#: stream of batches, not one call; one hour covers a nightly delta and a connection-time
#: comparison of some hundred thousand stains.
DEFAULT_COMPARE_TIMEOUT_SECONDS = 3600.0

#: A partner code: a country code or a short agency code, upper case (certificate CN).
PARTNER_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")


class SettingsError(ValueError):
    """The configuration is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class PartnerPolicy:
    """What one partner may ask this node."""

    code: str
    categories: frozenset[str]
    daily_quota: dict[str, int]
    finger_candidate_limit: int = DEFAULT_FINGER_CANDIDATE_LIMIT
    max_queries_per_request: int = DEFAULT_MAX_QUERIES_PER_REQUEST

    def __hash__(self) -> int:
        return hash(self.code)


@dataclass(frozen=True)
class PartnerEndpoint:
    """A partner this node sends queries to."""

    code: str
    address: str
    #: The name the partner's server certificate must carry (checked by TLS).
    server_name: str
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(ca, cert, key) PEM bytes; SettingsError naming the file when one is unreadable."""
        out = []
        for name in ("ca", "cert", "key"):
            path = getattr(self, name)
            try:
                out.append(path.read_bytes())
            except OSError as exc:
                raise SettingsError(f"tls.{name}: cannot read {path}: {exc.strerror}") from exc
        return tuple(out)


@dataclass(frozen=True, eq=False)
class NodeSettings:
    """Everything in a node's service configuration; paths are absolute."""

    path: Path
    partner: str
    home: Path
    listen: str
    tls: TlsFiles
    reflection: bool = False
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    executor_threads: int = DEFAULT_EXECUTOR_THREADS
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    audit_sync_seconds: float = DEFAULT_SYNC_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    compare_timeout_seconds: float = DEFAULT_COMPARE_TIMEOUT_SECONDS
    policy: dict[str, PartnerPolicy] = field(default_factory=dict)
    partners: dict[str, PartnerEndpoint] = field(default_factory=dict)

    @property
    def listen_host(self) -> str:
        return split_address(self.listen)[0]


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError when malformed."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected 'host:port', got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(path: str | Path) -> NodeSettings:
    """Read and check a node configuration; SettingsError names the file and key."""
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return _parse(path, data)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------- parsing
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


def _parse(path: Path, data: dict) -> NodeSettings:
    root = _Table(data, "", ("node", "tls", "policy", "partners"))
    node = _Table(root.get("node", dict, required=True), "node", (
        "partner", "home", "listen", "reflection", "max_message_bytes", "executor_threads",
        "grace_seconds", "audit_retention_days", "audit_sync_seconds", "timeout_seconds",
        "compare_timeout_seconds"))
    base = path.parent
    partner = _partner_code(node.get("partner", str, required=True), "node.partner")
    tls = _Table(root.get("tls", dict, required=True), "tls", ("ca", "cert", "key"))
    tls_files = TlsFiles(*(base / tls.get(k, str, required=True) for k in ("ca", "cert", "key")))
    policies = _Table(root.get("policy", dict, {}), "policy", tuple(root.data.get("policy", {})))
    partners = _Table(root.get("partners", dict, {}), "partners",
                      tuple(root.data.get("partners", {})))
    return NodeSettings(
        path=path,
        partner=partner,
        home=base / node.get("home", str, required=True),
        listen=_address(node.get("listen", str, "127.0.0.1:50051"), "node.listen"),
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
        timeout_seconds=node.number("timeout_seconds", DEFAULT_TIMEOUT_SECONDS, 0.001, 86_400,
                                    float),
        compare_timeout_seconds=node.number("compare_timeout_seconds",
                                            DEFAULT_COMPARE_TIMEOUT_SECONDS, 0.001, 7 * 86_400,
                                            float),
        policy={code: _policy(code, policies) for code in policies.data},
        partners={code: _endpoint(code, partners) for code in partners.data},
    )


def _policy(code: str, policies: _Table) -> PartnerPolicy:
    key = policies.key(code)
    _partner_code(code, key)
    table = _Table(policies.data[code], key, (
        "categories", "daily_quota", "finger_candidate_limit", "max_queries_per_request"))
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
    key = partners.key(code)
    _partner_code(code, key)
    table = _Table(partners.data[code], key, ("address", "server_name", "timeout_seconds"))
    timeout = table.get("timeout_seconds", (int, float))
    if timeout is not None and not 0 < timeout <= 86_400:
        raise SettingsError(f"{table.key('timeout_seconds')}: must be in (0, 86400], got {timeout!r}")
    return PartnerEndpoint(
        code=code,
        address=_address(table.get("address", str, required=True), table.key("address")),
        server_name=table.get("server_name", str, code),
        timeout_seconds=None if timeout is None else float(timeout),
    )
