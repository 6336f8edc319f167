"""A Lennard-Jones fluid, end to end: the example a newcomer runs first."""
