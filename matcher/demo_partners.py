"""Three synthetic partner states for ``matcher demo``: homes, certificates, node configs
and each state's outgoing queries, with the cross-border matches planted in them.

Every state (NL, DE, BE) holds a DNA database (persons and stains, the usual kit mix), a
fingerprint collection (two-finger rolled cards) and a vehicle register of its own plates.
Each state's outgoing queries are derived from its partners' records -- stains of their
persons (exact, degraded, mistyped), relatives, plain impressions of their cards, their
plates and VINs as an officer types them -- plus people and vehicles no one holds, so the
ground truth of every answer is known.  Same seed, same data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from matcher.dna.synth import generate_database, generate_queries
from matcher.finger._synth_records import gallery_records, probe_record
from matcher.finger.synth import generate_gallery, generate_probes
from matcher.home import init_home, open_home
from matcher.service.certs import create_development_pki
from matcher.vehicle.synth import generate_queries as vehicle_queries
from matcher.vehicle.synth import generate_registrations

STATES = ("NL", "DE", "BE")
SEED = 2026


@dataclass(frozen=True)
class DemoSize:
    """How big each state is, and how many queries it sends to each partner."""

    profiles: int = 30_000
    dna_queries: int = 150
    finger_records: int = 400
    finger_queries: int = 10
    vehicles: int = 20_000
    vehicle_queries: int = 100


@dataclass
class StateData:
    """One state's home and what it asks its partners (queries carry ``truth``)."""

    code: str
    home: Path
    config: Path
    queries: dict[str, list[dict]] = field(default_factory=dict)   # category -> queries


def _seed(code: str, salt: int) -> int:
    return SEED + 101 * STATES.index(code) + salt


def _dna(code: str, size: DemoSize):
    return generate_database(size.profiles, seed=_seed(code, 1), prefix=code)


def _fingers(code: str, size: DemoSize):
    return generate_gallery(size.finger_records, seed=_seed(code, 2), fingers_per_record=2,
                            prefix=code)


def _vehicles(code: str, size: DemoSize) -> list[dict]:
    return list(generate_registrations(size.vehicles, seed=_seed(code, 3), countries=[code],
                                       prefix=f"{code}-V"))


def build_home(root: Path, code: str, size: DemoSize) -> dict:
    """Create and fill one state's home; counts of what it holds."""
    path = root / f"{code.lower()}-home"
    init_home(path, partner=code)
    with open_home(path, create=False) as home:
        dna = home.dna.add(_dna(code, size))
        fingers = home.finger.add(gallery_records(_fingers(code, size)))
        vehicles = home.vehicle.add(_vehicles(code, size))
    return {"profiles": dna.added, "finger_records": fingers.added,
            "fingers": fingers.fingers, "vehicles": vehicles.added}


def outgoing_queries(code: str, size: DemoSize) -> dict[str, list[dict]]:
    """What ``code`` asks: queries derived from each partner's records, references
    ``{code}-Q-…`` so a partner sees only who asks, ``truth`` says whose record it came from."""
    made: dict[str, list[dict]] = {"dna": [], "finger": [], "vehicle": []}
    for number, partner in enumerate(p for p in STATES if p != code):
        salt = 10 * (number + 1)
        made["dna"] += generate_queries(_dna(partner, size), size.dna_queries,
                                        seed=_seed(code, salt), truth=True)
        probes = generate_probes(_fingers(partner, size), size.finger_queries,
                                 seed=_seed(code, salt + 1), mode="plain", mated_fraction=0.8)
        made["finger"] += [probe_record(p, truth=True) for p in probes]
        made["vehicle"] += vehicle_queries(_vehicles(partner, size), size.vehicle_queries,
                                           seed=_seed(code, salt + 2))
        for query in made["vehicle"][-size.vehicle_queries:]:
            query["truth"] = {"partner": partner}
    for category, queries in made.items():
        for counter, query in zip(itertools.count(1), queries):
            query["reference"] = f"{code}-Q-{category[0].upper()}{counter:05d}"
    return made


def write_config(root: Path, code: str, listen: str, partners: dict[str, str]) -> Path:
    """The node config of ``code``: listening on ``listen``, granting every other state all
    three categories with the default quotas, and asking ``partners`` (code -> address)."""
    lines = ["[node]", f'partner = "{code}"', f'home = "{code.lower()}-home"',
             f'listen = "{listen}"', "", "[tls]", 'ca = "certs/ca.pem"',
             f'cert = "certs/{code}.pem"', f'key = "certs/{code}.key"']
    for other in STATES:
        if other != code:
            lines += ["", f"[policy.{other}]", 'categories = ["dna", "finger", "vehicle"]']
    for other, address in partners.items():
        lines += ["", f"[partners.{other}]", f'address = "{address}"']
    path = root / f"{code.lower()}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_states(root: Path, size: DemoSize, say) -> list[StateData]:
    """Certificates, three filled homes, configs (listening on a free port each; partners'
    addresses are filled in once the nodes run) and each state's outgoing queries."""
    create_development_pki(root / "certs", list(STATES))
    states = []
    for code in STATES:
        held = build_home(root, code, size)
        say(f"  {code}: {held['profiles']:,} DNA profiles, {held['finger_records']:,} "
            f"fingerprint cards ({held['fingers']:,} fingers), {held['vehicles']:,} vehicles")
        states.append(StateData(code, root / f"{code.lower()}-home",
                                write_config(root, code, "127.0.0.1:0", {}),
                                outgoing_queries(code, size)))
    return states
