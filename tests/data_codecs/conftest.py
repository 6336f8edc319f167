"""Fixtures for the codec tests: a workspace and a started run."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from molexp.codecs import pack, unpack
from molexp.workspace import RunContext, Workspace

# No example database: the suite writes nothing into the repository.
settings.register_profile("molexp", database=None, deadline=None)
settings.load_profile("molexp")
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="molexp-hypothesis-"))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "ws", fsync=False)
    yield workspace
    workspace.close()


@pytest.fixture
def rc(ws: Workspace) -> Iterator[RunContext]:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as context:
        yield context


def roundtrip(value: Any, as_type: Any = None) -> Any:
    """``value`` packed and unpacked in memory (no workspace)."""
    packed = pack(value, what="test")
    stream = io.BytesIO()
    if packed.write is not None:
        packed.write(stream)
    else:
        assert packed.payload is not None
        stream.write(packed.payload)
    stream.seek(0)
    return unpack(stream, packed.encoding, as_type=as_type, what="test", suffix=packed.suffix)
