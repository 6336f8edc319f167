"""Golden case of molexp gen."""
