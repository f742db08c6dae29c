"""Monitoring of the live book: drift and health metrics, tripwires and the kill switch (no orchestration)."""
