"""Golden case of molexp gen --stubs: contexts live in a stub-only module."""
