"""Golden case of molexp gen: a scan (one class on many nodes) and homogeneous fan-in."""
