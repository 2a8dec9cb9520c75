"""The locus groups bulk DNA comparison keys profiles by (see ``_bulk_keys`` for the
pigeonhole argument that makes keys complete).

Two families:

* ``DEFAULT_GROUPS``, four-locus groups probed for every pair.  Random key collisions stay
  near 1e-5 per pair and group, so they cost little even over a whole 1M x 1M join.
* ``SHORT_GROUPS``, three- and four-locus groups of the short, well-typed loci that degraded
  stains and partial profiles keep.  A *low-coverage* profile (one whose default groups do
  not guarantee its pairs even against a complete profile) is keyable on 0-1 default groups,
  so its pairs would all go to brute force.  Its pairs, and only its pairs, are also probed
  with these groups: three-locus genotypes collide at ~1e-4 to 1e-3 per pair, affordable
  for the ~2 x 7 % of pairs that involve a low-coverage profile, not for all pairs.

A pair is guaranteed when no ``max_mismatches`` loci meet every group both profiles are
keyable on.  For one mismatch that needs groups without a common locus inside the loci
both share; with 6 shared loci that is two disjoint triples, or three four-locus groups
whose intersection is empty, so overlapping groups are what make short profiles coverable.
The short family was chosen greedily on synthetic national databases (2e5 profiles,
``matcher.dna.synth`` defaults): each step added the group that guaranteed the most not
yet guaranteed low-coverage pairs sharing >= 6 keyable loci per expected random candidate.
Its first 42 groups guarantee ~90 % of those pairs at ~1.5e-3 expected candidates per
low-coverage pair; the rest go to the brute-force scan, exactly as before.
"""

from __future__ import annotations

#: Four-locus groups for every pair.  The first three cover ESS-7, which every kit types, so
#: that removing any one locus leaves a group intact (one mismatch never hides a pair typed
#: only with SGM Plus against ESS-12); the others use the loci kits add on top.
DEFAULT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("D21S11", "FGA", "D18S51", "vWA"),
    ("D3S1358", "D8S1179", "TH01", "D21S11"),
    ("FGA", "D18S51", "D3S1358", "D8S1179"),
    ("vWA", "TH01", "D16S539", "D19S433"),
    ("D2S1338", "D16S539", "D19S433", "D3S1358"),
    ("D1S1656", "D12S391", "D2S441", "D10S1248"),
    ("D22S1045", "D1S1656", "D12S391", "TH01"),
    ("D2S441", "D10S1248", "D22S1045", "SE33"),
    ("CSF1PO", "TPOX", "D5S818", "D7S820"),
    ("D13S317", "CSF1PO", "TPOX", "Penta D"),
)

#: Groups probed only for pairs involving a low-coverage profile, in the greedy order.
SHORT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("D8S1179", "D3S1358", "vWA", "D22S1045"), ("D8S1179", "D19S433", "D21S11", "D16S539"),
    ("TH01", "D22S1045", "D2S441", "D10S1248"), ("D8S1179", "D3S1358", "vWA", "TH01"),
    ("vWA", "D21S11", "D2S1338"), ("TH01", "FGA", "D18S51"),
    ("D8S1179", "D3S1358", "D19S433", "D16S539"), ("vWA", "D21S11", "D18S51"),
    ("vWA", "FGA", "D21S11"), ("D19S433", "D18S51", "D2S1338"),
    ("D19S433", "FGA", "D2S1338"), ("D12S391", "D10S1248", "D1S1656"),
    ("D2S441", "D12S391", "D1S1656"), ("D8S1179", "D3S1358", "D2S441", "D10S1248"),
    ("vWA", "D22S1045", "D2S441", "D10S1248"), ("vWA", "TH01", "D2S441", "D10S1248"),
    ("TH01", "D22S1045", "D1S1656"), ("TH01", "D22S1045", "D12S391"),
    ("D8S1179", "D2S1338", "D16S539"), ("D3S1358", "TH01", "D2S1338"),
    ("D8S1179", "vWA", "D2S1338"), ("D8S1179", "D19S433", "D18S51"),
    ("D3S1358", "D19S433", "D18S51"), ("D3S1358", "D19S433", "FGA"),
    ("D8S1179", "TH01", "D19S433", "FGA"), ("vWA", "D19S433", "D21S11"),
    ("D8S1179", "D21S11", "D2S1338"), ("vWA", "FGA", "D16S539"),
    ("TH01", "D21S11", "D16S539"), ("D3S1358", "D18S51", "D16S539"),
    ("D8S1179", "D3S1358", "FGA", "D16S539"), ("vWA", "TH01", "D18S51", "D16S539"),
    ("D8S1179", "vWA", "D21S11", "D16S539"), ("D2S441", "D10S1248", "D1S1656"),
    ("D2S441", "D12S391", "D10S1248"), ("D8S1179", "D3S1358", "D1S1656"),
    ("D8S1179", "D3S1358", "D12S391"), ("vWA", "D12S391", "D1S1656"),
    ("vWA", "D22S1045", "D1S1656"), ("vWA", "D22S1045", "D12S391"),
    ("D8S1179", "D3S1358", "TH01", "D22S1045"), ("vWA", "TH01", "D10S1248"),
)
