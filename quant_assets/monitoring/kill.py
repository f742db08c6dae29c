"""The kill switch from the command line: see it, trip it, clear it (who and why are recorded).

Usage::

    python -m quant_assets.monitoring.kill status --profile demo
    python -m quant_assets.monitoring.kill trip --profile demo --by alice --reason "broker outage"
    python -m quant_assets.monitoring.kill clear --profile demo --by alice --reason "drawdown reviewed"

The switch is ``data/<profile>/kill_switch.json`` (``$QUANT_ASSETS_DATA`` moves ``data``);
every trip and clearance is appended to ``kill_switch_history.jsonl`` beside it. The same
clearance is the ``clear_kill_job`` in the Dagster UI.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import pandas as pd

from quant_assets.config import load_profile
from quant_assets.monitoring.tripwires import clear_kill, kill_history, kill_state, trip_kill

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quant_assets.monitoring.kill", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("status", "trip", "clear", "history"))
    parser.add_argument("--profile", required=True, help="profile name or YAML path")
    parser.add_argument("--by", default="", help="who trips or clears the switch (required for trip/clear)")
    parser.add_argument("--reason", default="", help="why (required for trip/clear)")
    parser.add_argument("--session", default=None, help="session of a manual trip (default: today)")
    args = parser.parse_args(argv)
    root = load_profile(args.profile).data_dir
    if args.action in ("trip", "clear") and not (args.by.strip() and args.reason.strip()):
        parser.error(f"{args.action} needs --by NAME and --reason TEXT")
    if args.action == "trip":
        session = args.session or str(pd.Timestamp.now(tz="America/New_York").date())
        state = trip_kill(root, session, f"{args.reason} (by {args.by})", source="person")
    elif args.action == "clear":
        state = clear_kill(root, args.by, args.reason)
    elif args.action == "history":
        print(kill_history(root).to_string(index=False))
        return 0
    else:
        state = kill_state(root)
    print(state.line())
    print(json.dumps(state.as_dict(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
