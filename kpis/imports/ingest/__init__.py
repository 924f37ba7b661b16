"""Ticket import: read files, map columns, fold event logs, store."""
