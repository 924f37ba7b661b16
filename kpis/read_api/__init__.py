"""The read API of the KPI domain: snapshots, tickets with their clocks, outages (docs/api.md)."""
