"""A home's settings: every matching rule of the DNA spec, read from and written to TOML.

Defaults are the spec's (``dna-matching.md``); each field says where its value comes from.
The file is written once by ``matcher init`` with every setting spelled out, so an operator
sees and can change all of them in one place.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from matcher.dna.frequencies import DEFAULT_POPULATION, POPULATIONS
from matcher.dna.loci import (
    DEFAULT_ALIASES, DEFAULT_LOCI, DEFAULT_LOCUS_SETS, DEFAULT_NEVER_COMPARED,
    DEFAULT_REPEAT_UNITS, LocusTable,
)

CONFIG_FILE = "config.toml"
FORMAT_VERSION = 1


class ConfigError(ValueError):
    """A setting is missing, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class DnaSettings:
    """DNA rules of one home (spec sections 1, 4 and 5)."""

    #: Spec 4 / Prüm annex: a storable or searchable profile has at least this many fully
    #: designated loci (Amelogenin and other never-compared loci excluded).
    min_designated_loci: int = 6
    #: Spec 4: a stored ``person`` profile is fully designated at this many loci of
    #: ``person_rule_locus_set`` (the ESS-7 rule).
    min_ess7_loci_person: int = 6
    person_rule_locus_set: str = "ess7"
    #: Spec 5: a hit needs at least this many matching loci ...
    min_matching_loci: int = 6
    #: ... and at most this many mismatching alleles over all compared loci.
    max_mismatches: int = 1
    #: Loci beyond the built-in table: canonical name -> repeat unit in base pairs.
    extra_loci: dict[str, int] = field(default_factory=dict)
    #: Extra input spellings: alias -> canonical name.
    extra_aliases: dict[str, str] = field(default_factory=dict)
    #: Named locus sets (presets); the built-in ``ess7``, ``ess12``, ``codis20`` are listed.
    locus_sets: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_LOCUS_SETS.items()}
    )
    never_compared: list[str] = field(default_factory=lambda: list(DEFAULT_NEVER_COMPARED))
    #: Hit statistics (``matcher.dna.statistics``): allele frequencies of this population
    #: (``matcher.dna.frequencies.POPULATIONS``; norSTR Europe by default) ...
    statistics_population: str = DEFAULT_POPULATION
    #: ... the NRC II 4.10 coancestry correction θ (0.01 general population, 0.03 small
    #: isolated ones, 0 = product rule) ...
    theta: float = 0.01
    #: ... and N of the 5/2N minimum allele frequency; 0 = the table's stated sample size
    #: (norSTR states none: its own minimum 0.001 applies).
    frequency_sample_size: int = 0
    #: Familial search (``matcher.dna.kinship``): report a non-hit stored profile when its
    #: sibling or parent-child kinship index with the query reaches this likelihood ratio.
    #: Measured on synthetic norSTR data with the default kit mix: 10,000 finds ~70 % of
    #: parents/children and ~46 % of siblings at ~4.5 false candidates per million profiles
    #: searched (1,000: 90 % / 68 % at ~70 per million); raise it for large databases.
    familial_threshold: float = 10_000.0
    #: Most familial candidates one answer lists, highest index first.
    familial_max_candidates: int = 20
    #: Per-locus per-generation STR mutation rate behind the parent-child index at a locus
    #: the two profiles share no allele at (mutation or drop-out): mu/A (Brenner); 0 makes
    #: such a locus an exclusion (index 0).  0.002 is typical of forensic autosomal STRs.
    familial_mutation_rate: float = 0.002

    def validate(self) -> None:
        for name in ("min_designated_loci", "min_ess7_loci_person", "min_matching_loci"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 64:
                raise ConfigError(f"dna.{name} must be an integer 0..64, got {value!r}")
        # The kernels count mismatches in one byte with a "dead" offset of 128.
        if not isinstance(self.max_mismatches, int) or not 0 <= self.max_mismatches <= 20:
            raise ConfigError(f"dna.max_mismatches must be an integer 0..20, got {self.max_mismatches!r}")
        for name, unit in self.extra_loci.items():
            # Unit >= 2 keeps "codes one apart" equivalent to "one of them is a microvariant".
            if not isinstance(unit, int) or not 2 <= unit <= 9:
                raise ConfigError(f"dna.extra_loci.{name}: repeat unit must be an integer 2..9 bp")
        self._validate_statistics()
        if self.person_rule_locus_set not in self.locus_sets:
            raise ConfigError(
                f"dna.person_rule_locus_set {self.person_rule_locus_set!r} is not in dna.locus_sets"
            )
        try:
            self.locus_table()
        except ValueError as exc:
            raise ConfigError(f"dna: {exc}") from exc

    def _validate_statistics(self) -> None:
        if self.statistics_population not in POPULATIONS:
            raise ConfigError(f"dna.statistics_population must be one of {', '.join(POPULATIONS)}, "
                              f"got {self.statistics_population!r}")
        if not _is_number(self.theta) or not 0 <= self.theta <= 0.25:
            raise ConfigError(f"dna.theta must be a number 0..0.25, got {self.theta!r}")
        if not isinstance(self.frequency_sample_size, int) or isinstance(self.frequency_sample_size, bool) \
                or self.frequency_sample_size < 0:
            raise ConfigError("dna.frequency_sample_size must be an integer >= 0 (0 = the table's), "
                              f"got {self.frequency_sample_size!r}")
        if not _is_number(self.familial_threshold) or not self.familial_threshold > 1:
            raise ConfigError(f"dna.familial_threshold must be a number > 1, got {self.familial_threshold!r}")
        if not isinstance(self.familial_max_candidates, int) or isinstance(self.familial_max_candidates, bool) \
                or not 1 <= self.familial_max_candidates <= 1000:
            raise ConfigError("dna.familial_max_candidates must be an integer 1..1000, got "
                              f"{self.familial_max_candidates!r}")
        if not _is_number(self.familial_mutation_rate) or not 0 <= self.familial_mutation_rate <= 0.1:
            raise ConfigError("dna.familial_mutation_rate must be a number 0..0.1, got "
                              f"{self.familial_mutation_rate!r}")

    def locus_table(self) -> LocusTable:
        names = DEFAULT_LOCI + tuple(n for n in self.extra_loci if n not in DEFAULT_LOCI)
        units = dict(DEFAULT_REPEAT_UNITS)
        units.update(self.extra_loci)
        aliases = dict(DEFAULT_ALIASES)
        aliases.update(self.extra_aliases)
        return LocusTable(
            names=names, repeat_units=units, never_compared=tuple(self.never_compared),
            aliases=aliases, locus_sets={k: tuple(v) for k, v in self.locus_sets.items()},
        )


@dataclass(frozen=True)
class FingerSettings:
    """Fingerprint search settings (issue 3; Prüm candidate limits in notes/prum.md)."""

    #: Most candidates one answer lists (Prüm: 1 to 10 depending on the search type).
    max_candidates: int = 10
    #: Galleries with at most this many fingers are searched exhaustively with MCC; larger
    #: ones go through the embedding shortlist first.
    exhaustive_below: int = 20_000
    #: Share of the gallery the embedding shortlist keeps for MCC re-ranking (penetration).
    shortlist_fraction: float = 0.01
    #: The same for latent probes.  1.0 = score every eligible finger with MCC: a latent
    #: mark (15-30 minutiae on a small patch) has too few minutia pairs for the embedding
    #: (it keeps ~27 % of latent mates in the top 1 %), and Prüm caps latent searches at
    #: 20 per partner per day, so the exhaustive accuracy is worth its seconds.
    latent_shortlist_fraction: float = 1.0

    def validate(self) -> None:
        if not isinstance(self.max_candidates, int) or not 1 <= self.max_candidates <= 100:
            raise ConfigError(f"finger.max_candidates must be an integer 1..100, got {self.max_candidates!r}")
        if not isinstance(self.exhaustive_below, int) or self.exhaustive_below < 0:
            raise ConfigError(f"finger.exhaustive_below must be an integer >= 0, got {self.exhaustive_below!r}")
        if not isinstance(self.shortlist_fraction, (int, float)) or not 0 < self.shortlist_fraction <= 1:
            raise ConfigError(f"finger.shortlist_fraction must be in (0, 1], got {self.shortlist_fraction!r}")
        if not isinstance(self.latent_shortlist_fraction, (int, float)) or \
                not 0 < self.latent_shortlist_fraction <= 1:
            raise ConfigError("finger.latent_shortlist_fraction must be in (0, 1], got "
                              f"{self.latent_shortlist_fraction!r}")


@dataclass(frozen=True)
class Config:
    """Everything in a home's ``config.toml``."""

    partner: str = "XX"
    dna: DnaSettings = field(default_factory=DnaSettings)
    finger: FingerSettings = field(default_factory=FingerSettings)

    @classmethod
    def load(cls, path: Path) -> "Config":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
        home = data.get("home", {})
        dna_data = data.get("dna", {})
        known = {f.name for f in fields(DnaSettings)}
        unknown = sorted(set(dna_data) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) in [dna]: {', '.join(unknown)}")
        dna = DnaSettings(**dna_data)
        dna.validate()
        finger_data = data.get("finger", {})
        unknown = sorted(set(finger_data) - {f.name for f in fields(FingerSettings)})
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) in [finger]: {', '.join(unknown)}")
        finger = FingerSettings(**finger_data)
        finger.validate()
        return cls(partner=str(home.get("partner", "XX")), dna=dna, finger=finger)

    def dump(self) -> str:
        lines = [
            "# prum-matcher home configuration. Every matching rule of the DNA spec is a",
            "# setting here; the defaults are the spec's (dna-matching.md).",
            "",
            "[home]",
            f"format_version = {FORMAT_VERSION}",
            f"partner = {_toml_value(self.partner)}",
            "",
            "[dna]",
        ]
        tables = []
        for key, value in asdict(self.dna).items():
            if isinstance(value, dict):
                tables.append((key, value))
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        for key, table in tables:
            lines += ["", f"[dna.{key}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
        lines += ["", "[finger]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in asdict(self.finger).items()]
        return "\n".join(lines) + "\n"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else _toml_value(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
