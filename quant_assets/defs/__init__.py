"""The Dagster graph, one folder per domain, built for a profile by :func:`build_definitions`.

Importing this package (or any module under it) defines nothing and reads no environment:
generic helpers live in ``defs.lib``, each domain folder exposes factories taking the profile
and its partitions, and ``build_definitions`` assembles them. ``quant_assets.definitions`` is
the code location the Dagster tools load.
"""

from quant_assets.defs.build import build_definitions

__all__ = ["build_definitions"]
