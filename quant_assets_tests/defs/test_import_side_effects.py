"""Importing the graph's modules does nothing: no environment read, no SQLite hook, no warning
filter; only the code-location module ``quant_assets.definitions`` reads the profile.

Each case runs in a fresh interpreter, so modules imported by other tests do not hide an
import-time read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from quant_assets_tests.defs.dagster_processes import tail

PROBE = textwrap.dedent(
    """
    import importlib, json, os, pkgutil, sys, warnings
    import dagster, dagster_duckdb, dagster_pandera, pandas, pandera.pandas  # third-party setup first

    reads = []

    class Spy(type(os.environ)):
        def __getitem__(self, key):
            if key.startswith("QUANT_ASSETS"):
                reads.append(key)
            return super().__getitem__(key)

    os.environ.__class__ = Spy

    # Warning filters installed by our own modules (third-party libraries set theirs on import).
    own_filters = []

    def _spy(install):
        def wrapper(*args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if caller.split(".")[0] == "quant_assets":
                own_filters.append(caller)
            return install(*args, **kwargs)
        return wrapper

    warnings.filterwarnings = _spy(warnings.filterwarnings)
    warnings.simplefilter = _spy(warnings.simplefilter)

    import quant_assets
    import quant_assets.defs
    names = sorted(m.name for m in pkgutil.walk_packages(quant_assets.defs.__path__, "quant_assets.defs."))
    for name in names:
        importlib.import_module(name)

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from quant_assets.defs.lib import instance_tuning

    print(json.dumps({
        "modules": names,
        "env_reads": reads,
        "sqlite_hook": event.contains(Engine, "connect", instance_tuning._relax_sqlite_sync),
        "warning_filters_changed": bool(own_filters),
    }))
    """
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


def test_importing_the_graph_reads_no_environment_and_installs_nothing():
    proc = _python(PROBE, QUANT_ASSETS_PROFILE="no-such-profile", QUANT_ASSETS_DATA="/nonexistent")
    assert proc.returncode == 0, tail(proc.stderr)
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {
        "quant_assets.defs.build",
        "quant_assets.defs.market.assets",
        "quant_assets.defs.market.checks",
        "quant_assets.defs.reference.assets",
        "quant_assets.defs.lib.session_asset",
    } <= set(seen["modules"])
    assert seen["env_reads"] == []
    assert seen["sqlite_hook"] is False
    assert seen["warning_filters_changed"] is False


def test_the_code_location_reads_the_profile_and_tunes_sqlite():
    code = textwrap.dedent(
        """
        import json
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from quant_assets.definitions import defs
        from quant_assets.defs.lib import instance_tuning
        keys = defs.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
        print(json.dumps([keys[0], keys[-1], event.contains(Engine, "connect", instance_tuning._relax_sqlite_sync)]))
        """
    )
    proc = _python(code, QUANT_ASSETS_PROFILE="tiny")
    assert proc.returncode == 0, tail(proc.stderr)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["2024-01-02", "2024-03-28", True]

    bad = _python("import quant_assets.definitions", QUANT_ASSETS_PROFILE="no-such-profile")
    assert bad.returncode != 0 and "unknown profile 'no-such-profile'" in bad.stderr
