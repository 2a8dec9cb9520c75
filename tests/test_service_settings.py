"""Node configuration (matcher.service.settings): the documented example loads, paths are
relative to the file, defaults are Prüm's, and every error names its key."""

from __future__ import annotations

import pytest

from matcher.service import settings as settings_module
from matcher.service.settings import (
    DEFAULT_DAILY_QUOTA, SettingsError, is_loopback, load_settings, split_address,
)

EXAMPLE = """
[node]
partner = "NL"
home = "nl-home"
listen = "127.0.0.1:50051"
reflection = true
max_message_bytes = 65536
executor_threads = 3
grace_seconds = 2.5
audit_retention_days = 30
timeout_seconds = 4

[tls]
ca = "certs/ca.pem"
cert = "certs/NL.pem"
key = "certs/NL.key"

[policy.DE]
categories = ["dna", "finger"]
finger_candidate_limit = 1
daily_quota = { dna = 50, finger_latent = 5 }

[policy.BE]

[partners.DE]
address = "de.example:443"
server_name = "prum.de.example"
timeout_seconds = 1.5

[partners.BE]
address = "[::1]:50053"
"""


def _write(tmp_path, text: str):
    path = tmp_path / "node.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads_with_paths_relative_to_the_file(tmp_path):
    settings = load_settings(_write(tmp_path, EXAMPLE))
    assert settings.partner == "NL"
    assert settings.home == tmp_path / "nl-home"
    assert settings.tls.ca == tmp_path / "certs" / "ca.pem"
    assert settings.tls.key == tmp_path / "certs" / "NL.key"
    assert (settings.reflection, settings.max_message_bytes, settings.executor_threads) == \
        (True, 65536, 3)
    assert (settings.grace_seconds, settings.audit_retention_days, settings.timeout_seconds) == \
        (2.5, 30, 4.0)
    de = settings.policy["DE"]
    assert de.categories == {"dna", "finger"}
    assert de.finger_candidate_limit == 1
    # given quotas replace the defaults, the others keep them
    assert de.daily_quota == {**DEFAULT_DAILY_QUOTA, "dna": 50, "finger_latent": 5}
    be = settings.policy["BE"]
    assert be.categories == {"dna", "finger", "vehicle"}
    assert be.daily_quota == DEFAULT_DAILY_QUOTA
    assert settings.partners["DE"].server_name == "prum.de.example"
    assert settings.partners["DE"].timeout_seconds == 1.5
    assert settings.partners["BE"].server_name == "BE"          # default: the partner code
    assert settings.partners["BE"].timeout_seconds is None


def test_defaults_are_the_documented_ones(tmp_path):
    settings = load_settings(_write(tmp_path, """
[node]
partner = "BE"
home = "h"
[tls]
ca = "a"
cert = "b"
key = "c"
"""))
    assert settings.listen == "127.0.0.1:50051"
    assert settings.reflection is False                         # reflection off by default
    assert settings.max_message_bytes == 4 * 1024 * 1024
    assert settings.audit_retention_days == 730                 # Prüm Art. 30: two years
    assert settings.policy == {} and settings.partners == {}
    # Prüm-type fingerprint capacities (notes/prum.md)
    assert DEFAULT_DAILY_QUOTA["finger"] == 100 and DEFAULT_DAILY_QUOTA["finger_latent"] == 20
    assert settings_module.DEFAULT_FINGER_CANDIDATE_LIMIT == 10


@pytest.mark.parametrize("old, new, key", [
    ('partner = "NL"', 'partner = "nl"', "node.partner"),
    ('partner = "NL"', "", "node.partner: missing"),
    ('listen = "127.0.0.1:50051"', 'listen = "127.0.0.1"', "node.listen"),
    ('listen = "127.0.0.1:50051"', 'listen = "127.0.0.1:70000"', "node.listen"),
    ("reflection = true", 'reflection = "yes"', "node.reflection"),
    ("executor_threads = 3", "executor_threads = 0", "node.executor_threads"),
    ("executor_threads = 3", "executor_threads = true", "node.executor_threads"),
    ("grace_seconds = 2.5", "grace_sconds = 2.5", "node.grace_sconds: unknown setting"),
    ('ca = "certs/ca.pem"', "", "tls.ca: missing"),
    ('categories = ["dna", "finger"]', 'categories = ["dna", "dns"]', "policy.DE.categories[1]"),
    ("daily_quota = { dna = 50, finger_latent = 5 }", "daily_quota = { dna = -1 }",
     "policy.DE.daily_quota.dna"),
    ("daily_quota = { dna = 50, finger_latent = 5 }", "daily_quota = { bulk = 5 }",
     "policy.DE.daily_quota.bulk: unknown setting"),
    ("finger_candidate_limit = 1", "finger_candidate_limit = 0", "policy.DE.finger_candidate_limit"),
    ("[policy.BE]", "[policy.be]", "policy.be"),
    ('address = "de.example:443"', "", "partners.DE.address: missing"),
    ("timeout_seconds = 1.5", "timeout_seconds = 0", "partners.DE.timeout_seconds"),
    ("[partners.BE]", "[partnrs.BE]", "partnrs: unknown setting"),
])
def test_errors_name_the_key(tmp_path, old, new, key):
    assert old in EXAMPLE
    path = _write(tmp_path, EXAMPLE.replace(old, new, 1))
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert key in str(caught.value)
    assert str(path) in str(caught.value)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[node\n"))


def test_tls_files_are_read_with_their_key_named(tmp_path):
    settings = load_settings(_write(tmp_path, EXAMPLE))
    with pytest.raises(SettingsError, match=r"tls\.ca: cannot read"):
        settings.tls.read()


@pytest.mark.parametrize("address, expected", [
    ("127.0.0.1:5", ("127.0.0.1", 5)), ("[::1]:0", ("::1", 0)), ("host.example:443", ("host.example", 443)),
])
def test_split_address(address, expected):
    assert split_address(address) == expected


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("example.org", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback
