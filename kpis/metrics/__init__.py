"""The way stored tickets become clocks and snapshots: pure period, clock, formula and
snapshot modules, their SQL (store.py) and the recompute that orchestrates them."""
