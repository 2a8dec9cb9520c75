"""Profile normalisation and validation (spec sections 1–4).

A raw record (a dict from JSON Lines or a CSV export) becomes a ``Profile``: canonical locus
names, each compared locus a sorted pair of allele codes (0 = wildcard), the never-compared
loci (Amelogenin, DYS391) kept as canonical text.  Every problem is collected, so a rejected
record is reported with all its reasons at once, each naming its field.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

from matcher.config import DnaSettings
from matcher.dna.alleles import WILDCARD, AlleleError, allele_text, parse_allele
from matcher.dna.loci import AMELOGENIN
from matcher.records import DuplicateKeys, check_reference

KINDS = ("person", "stain")
AMELOGENIN_VALUES = frozenset({"X", "Y"})
#: Bound on the per-value parse cache; real databases repeat a few thousand locus values.
_VALUE_CACHE_LIMIT = 200_000


@dataclass(slots=True)
class Profile:
    """A normalised, accepted DNA profile.

    ``loci`` maps a compared locus to its sorted code pair (a wildcard sorts first as 0);
    ``other_loci`` holds never-compared loci as canonical text.  ``designated`` counts the
    fully designated compared loci (the spec-4 minimum applies to it).
    """

    reference: str
    kind: str
    loci: dict[str, tuple[int, int]]
    other_loci: dict[str, tuple[str, ...]]
    mixture: bool
    designated: int

    def canonical_loci(self, repeat_unit) -> dict[str, list[str]]:
        """Loci as canonical designation text, the form stored and shown to users."""
        out: dict[str, list[str]] = {}
        for name, (a, b) in self.loci.items():
            # A wildcard sorts first as code 0 but reads better last: "12,*".
            pair = (b, a) if a == WILDCARD else (a, b)
            out[name] = [allele_text(code, repeat_unit(name)) for code in pair]
        out.update({name: list(values) for name, values in self.other_loci.items()})
        return out


class ProfileRejected(ValueError):
    """A record that fails validation; ``reasons`` lists every problem, each naming a field."""

    def __init__(self, reference: str | None, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reference = reference
        self.reasons = reasons


class Normaliser:
    """Turns raw records into Profiles under one home's locus table and rules."""

    def __init__(self, settings: DnaSettings):
        self.settings = settings
        self.table = settings.locus_table()
        self.person_rule_loci = frozenset(settings.locus_sets[settings.person_rule_locus_set])
        self._names: dict[str, str | None] = {}
        self._values: dict[tuple[str, object], tuple] = {}
        self._fragments: dict[tuple[str, tuple], str] = {}

    def stored_body(self, profile: Profile) -> str:
        """The profile's loci as compact JSON of canonical designations, the form kept in the
        store (``{"TH01":["6","9.3"],...}``); built from cached per-locus fragments because
        it is written once per record on every ingest."""
        fragments = self._fragments
        parts = []
        for name, pair in itertools.chain(profile.loci.items(), profile.other_loci.items()):
            key = (name, pair)
            fragment = fragments.get(key)
            if fragment is None:
                if isinstance(pair[0], str):
                    texts = list(pair)
                else:
                    a, b = pair
                    shown = (b, a) if a == WILDCARD else (a, b)
                    texts = [allele_text(code, self.table.repeat_unit(name)) for code in shown]
                fragment = json.dumps({name: texts}, separators=(",", ":"), ensure_ascii=False)[1:-1]
                if len(fragments) < _VALUE_CACHE_LIMIT:
                    fragments[key] = fragment
            parts.append(fragment)
        return "{" + ",".join(parts) + "}"

    def normalise(self, raw: object, *, query: bool = False, stored: bool = False) -> Profile:
        """A Profile from one raw record, or ProfileRejected with every reason.

        Queries (``query=True``) may omit ``reference`` and ``kind`` and are not held to the
        person rule.
        ``stored=True`` re-reads a record the store already accepted: the locus-count rules
        are not applied again (they may have changed since), only the parsing.
        """
        if isinstance(raw, DuplicateKeys):
            keys = [k for k, _ in raw]
            dups = sorted({k for k in keys if keys.count(k) > 1})
            raw_dict = dict(raw)
            reference = raw_dict.get("reference")
            reference = reference if isinstance(reference, str) else None
            raise ProfileRejected(reference, [f"{k}: field given twice" for k in dups])
        if not isinstance(raw, dict):
            raise ProfileRejected(None, [f"record: expected a JSON object, got {_type_name(raw)}"])
        reasons: list[str] = []
        reference = raw.get("reference")
        # A query may come without a reference (it is then answered with "query": null and
        # cannot be excluded as "itself"); a stored record always has one (spec 4).
        problem = check_reference(reference, required=not query)
        if problem:
            reasons.append(problem)
            reference = reference if isinstance(reference, str) else None
        kind = raw.get("kind")
        if kind is None and query:
            kind = "stain"
        elif kind not in KINDS:
            reasons.append(
                "kind: missing, expected 'person' or 'stain'" if kind is None
                else f"kind: {kind!r} is not 'person' or 'stain'"
            )
        loci, others, mixture = self._loci(raw.get("loci"), reasons)
        designated = sum(1 for a, b in loci.values() if a != WILDCARD and b != WILDCARD)
        minimum = self.settings.min_designated_loci
        if designated < minimum and not stored and not any(r.startswith("loci") for r in reasons):
            reasons.append(
                f"loci: {designated} fully designated loci, at least {minimum} required"
            )
        if kind == "person" and not query and not stored:
            core = sum(
                1 for name in self.person_rule_loci
                if name in loci and WILDCARD not in loci[name]
            )
            needed = self.settings.min_ess7_loci_person
            if core < needed:
                reasons.append(
                    f"loci: a person profile needs {needed} fully designated "
                    f"{self.settings.person_rule_locus_set} loci, has {core}"
                )
        if reasons:
            raise ProfileRejected(reference, reasons)
        return Profile(reference, kind, loci, others, mixture, designated)  # type: ignore[arg-type]

    def _loci(self, raw_loci: object, reasons: list[str]):
        loci: dict[str, tuple[int, int]] = {}
        others: dict[str, tuple[str, ...]] = {}
        mixture = False
        if raw_loci is None:
            reasons.append("loci: missing")
            return loci, others, mixture
        if isinstance(raw_loci, dict):
            items = raw_loci.items()
        elif isinstance(raw_loci, DuplicateKeys):
            items = raw_loci
        else:
            reasons.append(f"loci: expected an object of locus -> alleles, got {_type_name(raw_loci)}")
            return loci, others, mixture
        seen: dict[str, str] = {}
        for raw_name, value in items:
            name = self._names.get(raw_name, "")
            if name == "":
                name = self.table.canonical(raw_name) if isinstance(raw_name, str) else None
                self._names[raw_name] = name
            if name is None:
                reasons.append(f"loci.{raw_name}: unknown locus")
                continue
            if name in seen:
                reasons.append(f"loci.{raw_name}: locus {name} given twice (also as {seen[name]!r})")
                continue
            seen[name] = raw_name
            parsed = self._value(name, value)
            if isinstance(parsed, str):
                reasons.append(f"loci.{raw_name}: {parsed}")
                continue
            kept, mixed = parsed
            mixture = mixture or mixed  # spec 3: flagged even when the pair is then dropped
            if kept is None:
                continue
            if isinstance(kept[0], str):
                others[name] = kept
            else:
                loci[name] = kept
        return loci, others, mixture

    def _value(self, name: str, value: object):
        """Cached parse of one locus value: an error message, or (pair, mixture) where pair is
        a code pair, a tuple of text (never-compared loci) or None (absent)."""
        key_value = tuple(value) if isinstance(value, list) else value
        try:
            return self._values[(name, key_value)]
        except KeyError:
            pass
        except TypeError:  # unhashable element inside a list: report it below
            key_value = None
        result = self._parse_value(name, value)
        if key_value is not None:
            if len(self._values) >= _VALUE_CACHE_LIMIT:
                self._values.clear()
            self._values[(name, key_value)] = result
        return result

    def _parse_value(self, name: str, value: object):
        if isinstance(value, str):
            texts = value.split(",")
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            texts = value
        else:
            return f"alleles must be a string or a list of strings, got {_type_name(value)}"
        texts = [t.strip() for t in texts]
        texts = [t for t in texts if t]
        if name == AMELOGENIN:
            upper = [t.upper() for t in texts]
            bad = [t for t in upper if t not in AMELOGENIN_VALUES]
            if bad:
                return f"Amelogenin value {bad[0]!r} is not X or Y"
            return (tuple(sorted(upper)) if upper else None), False
        unit = self.table.repeat_unit(name)
        try:
            codes = [parse_allele(t, unit) for t in texts]
        except AlleleError as exc:
            return str(exc)
        if not codes:
            return None, False
        mixed = len(codes) > 2
        if mixed:
            codes = [codes[0], WILDCARD]  # spec 3: keep the first allele, the rest is one wildcard
        elif len(codes) == 1:
            codes = codes * 2
        a, b = sorted(codes)
        if b == WILDCARD:
            return None, mixed  # spec 3: a pair of wildcards is dropped, the locus is absent
        if not self.table.is_compared(name):
            shown = (b, a) if a == WILDCARD else (a, b)  # "10,*" reads better than "*,10"
            return tuple(allele_text(c, unit) for c in shown), mixed
        return (a, b), mixed


def _type_name(value: object) -> str:
    return {dict: "object", list: "array", str: "string", int: "number", float: "number",
            bool: "boolean", type(None): "null"}.get(type(value), type(value).__name__)
