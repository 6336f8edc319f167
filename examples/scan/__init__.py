"""A density scan of a Lennard-Jones lattice: a map of a reusable relax sub-workflow."""
