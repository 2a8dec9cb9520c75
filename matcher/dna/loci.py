"""The STR locus table: canonical names, input aliases, repeat units and locus-set presets.

Source: ``dna-matching.md`` section 1 (Prüm annex table, ESS and CODIS core sets).  The table
is data: a home's configuration may add loci (name and repeat unit) and locus sets; the
defaults below are what a fresh home is created with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The 24 loci of the Prüm annex table plus the newer ESS loci and DYS391, in a fixed order.
#: The order only decides index column order; it carries no meaning.
DEFAULT_LOCI: tuple[str, ...] = (
    "vWA", "TH01", "D21S11", "FGA", "D8S1179", "D3S1358", "D18S51", "Amelogenin",
    "TPOX", "CSF1PO", "D13S317", "D7S820", "D5S818", "D16S539", "D2S1338", "D19S433",
    "Penta D", "Penta E", "FES", "F13A1", "F13B", "SE33", "CD4", "GABA",
    "D1S1656", "D2S441", "D10S1248", "D12S391", "D22S1045", "DYS391",
)

#: Repeat unit length R in base pairs (spec 1): 5 for pentanucleotide loci, 3 for D22S1045,
#: 4 otherwise.  An allele N.d is coded R*N + d, so one "step" is one base pair.
DEFAULT_REPEAT_UNITS: dict[str, int] = {"Penta D": 5, "Penta E": 5, "CD4": 5, "D22S1045": 3}
STANDARD_REPEAT_UNIT = 4

#: Stored but never compared and never counted (spec 1): sex marker and a Y-STR.
DEFAULT_NEVER_COMPARED: tuple[str, ...] = ("Amelogenin", "DYS391")

#: Input spellings that differ from the canonical name by more than case, spaces, ``_``, ``-``.
DEFAULT_ALIASES: dict[str, str] = {
    "VWA": "vWA", "CSF1P0": "CSF1PO", "THO1": "TH01", "PENTAD": "Penta D",
    "PENTAE": "Penta E", "AMEL": "Amelogenin", "AM": "Amelogenin", "F13A01": "F13A1",
}

ESS7 = ("D3S1358", "vWA", "D8S1179", "D21S11", "D18S51", "TH01", "FGA")
ESS12 = ESS7 + ("D1S1656", "D2S441", "D10S1248", "D12S391", "D22S1045")
CODIS20 = (
    "CSF1PO", "FGA", "TH01", "TPOX", "vWA", "D3S1358", "D5S818", "D7S820", "D8S1179",
    "D13S317", "D16S539", "D18S51", "D21S11", "D1S1656", "D2S441", "D2S1338", "D10S1248",
    "D12S391", "D19S433", "D22S1045",
)
DEFAULT_LOCUS_SETS: dict[str, tuple[str, ...]] = {"ess7": ESS7, "ess12": ESS12, "codis20": CODIS20}

AMELOGENIN = "Amelogenin"


def name_key(name: str) -> str:
    """Matching key of a locus name: upper case without spaces, ``_`` and ``-`` (spec 1)."""
    return name.strip().upper().replace(" ", "").replace("_", "").replace("-", "")


@dataclass(frozen=True)
class LocusTable:
    """Every locus a home knows, with its repeat unit and whether it takes part in matching.

    ``compared`` lists, in column order, the loci that matching uses (all but the
    never-compared ones); the DNA index holds one column pair per compared locus.
    """

    names: tuple[str, ...] = DEFAULT_LOCI
    repeat_units: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REPEAT_UNITS))
    never_compared: tuple[str, ...] = DEFAULT_NEVER_COMPARED
    aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    locus_sets: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_LOCUS_SETS))

    def __post_init__(self) -> None:
        keys: dict[str, str] = {}
        for name in self.names:
            keys[name_key(name)] = name
        for alias, canonical in self.aliases.items():
            if canonical not in self.names:
                raise ValueError(f"alias {alias!r} points to unknown locus {canonical!r}")
            keys[name_key(alias)] = canonical
        for set_name, members in self.locus_sets.items():
            for member in members:
                if member not in self.names:
                    raise ValueError(f"locus set {set_name!r} names unknown locus {member!r}")
        object.__setattr__(self, "_keys", keys)
        compared = tuple(n for n in self.names if n not in self.never_compared)
        object.__setattr__(self, "compared", compared)
        object.__setattr__(self, "column", {n: i for i, n in enumerate(compared)})

    def canonical(self, name: str) -> str | None:
        """The canonical name for an input spelling, or None when the locus is unknown."""
        return self._keys.get(name_key(name))  # type: ignore[attr-defined]

    def repeat_unit(self, name: str) -> int:
        """Repeat unit length in base pairs of a canonical locus."""
        return self.repeat_units.get(name, STANDARD_REPEAT_UNIT)

    def is_compared(self, name: str) -> bool:
        return name not in self.never_compared


DEFAULT_TABLE = LocusTable()


def canonical_locus(name: str) -> str | None:
    """Canonical name of a locus under the default table, or None when unknown."""
    return DEFAULT_TABLE.canonical(name)
