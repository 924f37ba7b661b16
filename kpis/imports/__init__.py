"""The way a file becomes stored tickets: pages, API, services and the database edge
(store.py); ingest/ holds the pure readers, presets, mapping, normalising and folding."""
