"""Build-time generator of typed task contexts (``molexp gen``)."""
