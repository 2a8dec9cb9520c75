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
names the key (``policy.DE.daily_quota.dna``) and the file.  The table reader lives in
``matcher.service._settings_parse``.
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
    # Imported here: the parser builds this module's classes, so it imports this module.
    from matcher.service._settings_parse import parse
    try:
        return parse(path, data)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
