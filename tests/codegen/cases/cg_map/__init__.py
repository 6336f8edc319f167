"""A scan: maps over run-time lists, a sub-workflow from another module, a map of it."""
