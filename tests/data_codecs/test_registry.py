"""The public registry: registration rules, lookup by MRO, JSON and file codecs composed
with cattrs, and errors that name the value's type, where it sits and how to register."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import attrs
import pytest

import molexp.codecs
from molexp.codecs import CodecError, FileCodec, JsonCodec, register, unregister
from molexp.workspace import RunContext


class Vec:
    """A user type molexp knows nothing about."""

    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vec) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))


class Vec3(Vec):
    pass


class Blob:
    def __init__(self, data: bytes) -> None:
        self.data = data


VEC = JsonCodec(
    type=Vec,
    name="test.Vec",
    to_json=lambda v: [v.x, v.y],
    from_json=lambda data, declared: Vec(*data),
)


def _write_blob(blob: Blob, stream: IO[bytes]) -> None:
    stream.write(b"BLOB" + blob.data)


def _read_blob(stream: IO[bytes]) -> Blob:
    raw = stream.read()
    assert raw[:4] == b"BLOB"
    return Blob(raw[4:])


BLOB = FileCodec(
    type=Blob,
    name="test.Blob",
    suffix=".blob",
    media_type="application/x-test-blob",
    write=_write_blob,
    read=_read_blob,
)


@pytest.fixture
def codecs() -> Iterator[None]:
    register(VEC)
    register(BLOB)
    try:
        yield
    finally:
        unregister(Vec)
        unregister(Blob)


@attrs.frozen
class Sample:
    label: str
    where: Vec
    raw: Blob
    extra: dict[str, Any] = attrs.field(factory=dict)


@dataclasses.dataclass
class Point:
    at: Vec


def test_a_type_without_codec_is_named_with_its_path_and_how_to_register(rc: RunContext) -> None:
    with pytest.raises(CodecError) as info:
        rc.artifact.save("s", {"frames": [{"v": Vec(1, 2)}]})
    message = str(info.value)
    assert "value['frames'][0]['v']" in message
    assert f"{__name__}.Vec" in message
    assert "molexp.codecs.register(JsonCodec(type=Vec" in message
    assert "docs/codecs.md" in message
    assert rc.artifact.list() == []  # nothing written


def test_attrs_field_path_is_named(rc: RunContext) -> None:
    with pytest.raises(CodecError, match=r"value at value\['where'\] of type .*Vec is not"):
        rc.artifact.save("s", Sample("a", Vec(1, 2), Blob(b"")))


def test_json_codec_inline_and_typed_back(rc: RunContext, codecs: None) -> None:
    saved = rc.artifact.save("p", Point(Vec(1.5, 2.0)))
    assert saved.encoding == "json" and saved.path.suffix == ".json"
    assert json.loads(saved.path.read_bytes()) == {"at": [1.5, 2.0]}
    assert rc.artifact.load("p", as_type=Point) == Point(Vec(1.5, 2.0))
    rc.set_result("where", Vec(0, 1))  # a JSON codec is a JSON summary
    assert rc.get_result("where") == [0, 1]


def test_subclasses_use_the_codec_of_their_base(rc: RunContext, codecs: None) -> None:
    assert molexp.codecs.lookup(Vec3) is VEC
    rc.checkpoint("v", data=Vec3(3, 4))
    assert rc.load_checkpoint("v", as_type=Vec) == Vec(3, 4)


def test_file_codec_alone_and_inside_a_bundle(rc: RunContext, codecs: None) -> None:
    alone = rc.artifact.save("b", Blob(b"\x00\x01"))
    assert (alone.encoding, alone.media_type, alone.path.suffix) == (
        "test.Blob",
        "application/x-test-blob",
        ".blob",
    )
    assert alone.path.read_bytes() == b"BLOB\x00\x01"
    assert rc.artifact.load("b").data == b"\x00\x01"

    sample = Sample("s1", Vec(1, 2), Blob(b"xyz"), {"more": [Blob(b"1"), Blob(b"2")]})
    saved = rc.artifact.save("sample", sample)
    assert saved.encoding == "bundle" and saved.path.suffix == ".zip"
    import zipfile

    with zipfile.ZipFile(saved.path) as zf:
        assert zf.namelist() == ["value.json", "raw.blob", "extra/more/0.blob", "extra/more/1.blob"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        document = json.loads(zf.read("value.json"))
    assert document["raw"] == {"$codec": "test.Blob", "$file": "raw.blob"}
    back = rc.artifact.load("sample", as_type=Sample)
    assert back.where == Vec(1, 2) and back.raw.data == b"xyz"
    assert [b.data for b in back.extra["more"]] == [b"1", b"2"]


def test_results_refuse_file_codec_values_with_a_hint(rc: RunContext, codecs: None) -> None:
    with pytest.raises(TypeError, match=r"value at value\['b'\] .* is stored as a file"):
        rc.set_result("r", {"b": Blob(b"")})
    assert rc.results == {}


def test_reserved_key_in_a_bundle_is_refused(rc: RunContext, codecs: None) -> None:
    with pytest.raises(TypeError, match=r"key '\$codec' at value is reserved"):
        rc.artifact.save("x", {"$codec": "x", "b": Blob(b"")})


def test_registration_rules() -> None:
    register(VEC)
    try:
        register(VEC)  # the same codec again: a no-op
        other = JsonCodec(type=Vec, name="test.Vec2", to_json=list, from_json=lambda d, t: d)
        with pytest.raises(ValueError, match="already has the codec 'test.Vec'"):
            register(other)
        register(other, replace=True)
        assert molexp.codecs.lookup(Vec) is other
        assert molexp.codecs.codec_named("test.Vec") is None
        with pytest.raises(ValueError, match="codec names are unique"):
            register(JsonCodec(type=Blob, name="test.Vec2", to_json=list, from_json=list))
    finally:
        unregister(Vec)
    for bad in ("json", "bundle", "a b", "x[]", ""):
        with pytest.raises(ValueError, match="codec name"):
            JsonCodec(type=Vec, name=bad, to_json=list, from_json=list)
    with pytest.raises(ValueError, match="codec suffix"):
        FileCodec(Blob, "t.b", "npy", "x/y", _write_blob, _read_blob)


def test_a_stored_value_whose_codec_is_gone_says_so(rc: RunContext) -> None:
    register(BLOB)
    try:
        rc.artifact.save("b", Blob(b"1"))
    finally:
        unregister(Blob)
    with pytest.raises(CodecError, match="codec 'test.Blob', which is not registered"):
        rc.artifact.load("b")


def test_the_codecs_package_sits_below_the_workspace() -> None:
    folder = Path(molexp.codecs.__file__).parent
    forbidden = ("molexp.workspace", "molexp.workflow", "molexp.runtime", "molexp.context")
    forbidden += ("molexp.executors", "molexp.cli", "molexp_codegen")
    offenders = []
    for module in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{module.name}: {n}" for n in names if n.startswith(forbidden)]
    assert offenders == []


def test_json_only_workspaces_never_import_numpy_or_ase(tmp_path: Path) -> None:
    code = f"""
import sys, attrs, molexp, molexp.codecs, molexp.workspace
from molexp.workspace import Workspace

@attrs.frozen
class P:
    x: float

ws = Workspace({str(tmp_path / "ws")!r})
run = ws.project("p").experiment("e").add_run()
with run.start() as rc:
    rc.artifact.save("p", P(1.0))
    rc.checkpoint("c", data={{"a": [1, 2]}})
    rc.set_result("r", 1.5)
    assert rc.artifact.load("p", as_type=P) == P(1.0)
    try:
        rc.artifact.save("s", {{1, 2}})
    except TypeError:
        pass
print(sorted(m for m in ("numpy", "ase", "scipy") if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
