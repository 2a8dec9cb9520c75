"""prum-matcher: hit/no-hit matching of DNA profiles (fingerprints and vehicles to come)
for cross-border police cooperation under the Prüm rules.

    >>> import matcher
    >>> with matcher.open_home("nl-home") as home:
    ...     home.dna.search([{"reference": "Q-1", "loci": {...}}])
"""

from matcher.config import Config, ConfigError, DnaSettings
from matcher.home import Home, HomeError, init_home, open_home

__all__ = ["Config", "ConfigError", "DnaSettings", "Home", "HomeError", "init_home", "open_home"]
__version__ = "0.1.0"
