"""Writes of the KPI domain: imports now, recomputation with #4."""
