"""The ``molexp`` command line."""
