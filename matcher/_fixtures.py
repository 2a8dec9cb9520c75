"""Where the committed fixture data lives, in a source checkout and in an installed wheel.

The repository keeps small reference data (allele frequency tables, sample templates) in
``fixtures/`` at its root.  The wheel force-includes that folder as ``matcher/_data/``, so an
installed package finds it beside its own modules; an editable or source checkout finds it one
level above the package.
"""

from __future__ import annotations

from pathlib import Path

#: Inside an installed wheel: ``fixtures/`` shipped as ``matcher/_data/``.
_INSTALLED_ROOT = Path(__file__).parent / "_data"
#: Inside a source or editable checkout: ``fixtures/`` beside the ``matcher/`` package.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent / "fixtures"


def fixtures_path(*parts: str) -> Path:
    """The path of a committed fixture file or folder, e.g. ``fixtures_path("str-frequencies")``.

    ``parts`` are path components relative to the fixtures root.  The installed location is
    tried first, then the source checkout.  Raises FileNotFoundError naming both places when
    neither holds the file.
    """
    tried = []
    for root in (_INSTALLED_ROOT, _SOURCE_ROOT):
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
        tried.append(str(candidate))
    raise FileNotFoundError(
        f"fixture {'/'.join(parts)!r} not found; looked in {' and '.join(tried)} "
        "(an installed wheel must include fixtures/ as matcher/_data/)"
    )
