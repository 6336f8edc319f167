"""Content digests and code hashes: the parts of resume lineage and cache keys.

See docs/resume.md ("Resume and caching").
"""

from __future__ import annotations

from molexp.caching.code import code_digest, user_package
from molexp.caching.digest import (
    DIGEST_VERSION,
    UnhashableValue,
    digest_bytes,
    digest_file,
    digest_value,
)

__all__ = [
    "DIGEST_VERSION",
    "UnhashableValue",
    "code_digest",
    "digest_bytes",
    "digest_file",
    "digest_value",
    "user_package",
]
