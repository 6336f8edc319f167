"""Tests of the workspace layer (tracked runs, assets, catalog)."""
