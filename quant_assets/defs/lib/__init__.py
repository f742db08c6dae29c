"""Generic building blocks of the graph; this package defines no asset, check, job or resource.

``session_asset`` (the one way to declare a session-partitioned, schema-typed asset),
``frame_checks`` (schema validation before storing and asset checks evaluated in the asset's
step), ``types`` (Pandera schemas as Dagster types), ``partitions`` (XNYS session
partitions), ``runtime`` (run helpers) and ``instance_tuning`` (an opt-in SQLite setting for the
local instance). The domain folders beside it build their assets from these, for a profile
handed to them by ``quant_assets.defs.build_definitions``.
"""
