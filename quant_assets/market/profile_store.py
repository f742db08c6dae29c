"""The Parquet store of a profile: the one place that opens it."""

from __future__ import annotations

from quant_assets.calendars import sessions_in_range
from quant_assets.config import Profile, load_profile
from quant_assets.market.store import ParquetStore

__all__ = ["profile_store"]


def profile_store(profile: Profile | str | None = None) -> ParquetStore:
    """The store under the profile's data directory, on XNYS sessions.

    ``profile``: a :class:`~quant_assets.config.Profile`, a profile name / YAML path, or ``None``
    for the default profile. The data directory is resolved at call time (the data root may be
    changed after import, e.g. by ``$QUANT_ASSETS_DATA``).
    """
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    return ParquetStore(profile.data_dir / "store", sessions=sessions_in_range)
