from __future__ import annotations

import attrs


@attrs.frozen
class Frame:
    """A trajectory frame."""

    step: int
