"""Actors in the ``--stubs`` style: contexts in a stub, a generic stand-in at runtime."""
