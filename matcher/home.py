"""``Home``: one node's folder (config, store, index snapshots) and its category objects.

The one object the CLI, the demo and (later) the partner service talk to.
"""

from __future__ import annotations

from pathlib import Path

from matcher.config import CONFIG_FILE, Config, ConfigError
from matcher.dna.database import DnaDatabase
from matcher.finger.database import FingerDatabase
from matcher.store import STORE_FILE, Store
from matcher.vehicle.database import VehicleDatabase


class HomeError(RuntimeError):
    """The folder is not a usable home; the message says what to do."""


class Home:
    """An opened home.  Use as a context manager, or call ``close()``: closing writes the
    index snapshot so the next open is fast."""

    def __init__(self, path: Path, config: Config, store: Store):
        self.path = path
        self.config = config
        self.store = store
        self.dna = DnaDatabase(store, config.dna, path)
        self.vehicle = VehicleDatabase(store, path)
        self.finger = FingerDatabase(store, config.finger, path)

    def close(self) -> None:
        try:
            self.dna.close()
            self.vehicle.close()
            self.finger.close()
        finally:
            self.store.close()

    def __enter__(self) -> "Home":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def init_home(path: str | Path, partner: str = "XX", config: Config | None = None) -> Path:
    """Create a home folder with a default configuration and an empty store."""
    path = Path(path)
    if (path / CONFIG_FILE).exists() or (path / STORE_FILE).exists():
        raise HomeError(f"{path}: already a home (config.toml or store present); not overwritten")
    path.mkdir(parents=True, exist_ok=True)
    config = config or Config(partner=partner)
    (path / CONFIG_FILE).write_text(config.dump(), encoding="utf-8")
    Store(path / STORE_FILE, create=True).close()
    return path


def open_home(path: str | Path, *, create: bool = True) -> Home:
    """Open a home: load its config, open its store, rebuild its indexes.

    A folder that does not exist yet, or is empty, becomes a new home with the default
    configuration when ``create`` is true (the command line passes False, so a mistyped
    path is an error there, not a new home).  A folder with other content is never taken.
    """
    path = Path(path)
    if not (path / CONFIG_FILE).exists():
        fresh = not path.exists() or (path.is_dir() and not any(path.iterdir()))
        if not (create and fresh):
            raise HomeError(
                f"{path}: not a home (no {CONFIG_FILE}); create it with 'matcher init {path}'")
        init_home(path)
    try:
        config = Config.load(path / CONFIG_FILE)
    except ConfigError as exc:
        raise HomeError(str(exc)) from exc
    return Home(path, config, Store(path / STORE_FILE))
