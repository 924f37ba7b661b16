"""Outage windows: the contract's Outages tab and its writes."""
