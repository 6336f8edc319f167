"""The codec registry: how a type (and its subclasses) is stored and read back.

Two kinds of codec:

- ``JsonCodec``: the value becomes a JSON value (``to_json``) and comes back from one
  (``from_json``). It is stored inline wherever the value sits: in a JSON artifact, in a
  field of an attrs class, in a run's result map. numpy scalars use one.
- ``FileCodec``: the value becomes a file of its own format (``write`` to a binary
  stream, ``read`` from one), with a media type and a suffix. Stored alone, it is that
  file (``forces.npy``); inside a JSON value (an attrs field, a dict item) it is a member
  of a bundle next to the JSON document (see ``molexp.codecs.values``). numpy arrays and
  ASE ``Atoms`` use one. ``write_many``/``read_many`` store a list of such values as one
  file (a trajectory); ``read_file`` reads a file saved in another format (a copied
  ``.traj`` or ``.cif``) given its suffix.

Lookup walks the value's class MRO, so a codec for a class serves its subclasses. The
built-in codecs (numpy, ASE) are known by the qualified names of their classes and are
imported on first use only: a program that never stores an array never imports numpy.

Codecs registered in a driver process reach Dask/process workers with each packed task
(``molexp.executors.remote``): register at import time of a module the workers import, or
anywhere in the driver before the run; codec functions must then be picklable (module
level functions are; lambdas defined in ``__main__`` are pickled by value).
"""

from __future__ import annotations

import importlib
import re
import threading
import typing
from collections.abc import Callable, Sequence
from typing import IO, Any, Generic, TypeAlias, TypeVar

import attrs

__all__ = [
    "RESERVED_NAMES",
    "Codec",
    "CodecError",
    "FileCodec",
    "JsonCodec",
    "codec_named",
    "generation",
    "lookup",
    "origin_class",
    "register",
    "registered",
    "unregister",
]

T = TypeVar("T")

RESERVED_NAMES = frozenset({"bytes", "text", "json", "bundle"})
"""Encodings that are not codec names (how plain bytes, text, JSON and bundles are stored)."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}")


class CodecError(TypeError):
    """A value (or a stored file) no codec can handle, or a codec that failed."""


def _check_name(_: object, __: attrs.Attribute[str], name: str) -> None:
    if not _NAME.fullmatch(name) or name in RESERVED_NAMES or name.endswith("[]"):
        raise ValueError(
            f"codec name {name!r}: use letters, digits and . _ + - (a stable identifier "
            f"written in asset records, e.g. 'mylab.Structure'); not one of "
            f"{sorted(RESERVED_NAMES)}"
        )


def _check_suffix(_: object, __: attrs.Attribute[str], suffix: str) -> None:
    if not re.fullmatch(r"\.[A-Za-z0-9_.+-]{1,20}", suffix):
        raise ValueError(f"codec suffix {suffix!r}: a file extension such as '.npy'")


@attrs.frozen
class JsonCodec(Generic[T]):
    """Store ``type`` (and subclasses) as a JSON value.

    ``to_json(value)`` returns a JSON value; it may contain values that have codecs
    themselves (an array inside a dict), which are stored through theirs.
    ``from_json(data, declared)`` rebuilds the value; ``declared`` is the type asked for
    (a subclass of ``type``, or a generic alias of it). Bump ``version`` when the stored
    form changes.
    """

    type: type[T]
    name: str = attrs.field(validator=_check_name)
    to_json: Callable[[T], Any]
    from_json: Callable[[Any, Any], T]
    version: int = 1


@attrs.frozen
class FileCodec(Generic[T]):
    """Store ``type`` (and subclasses) as a file of its own format.

    ``write(value, stream)`` writes the bytes (``stream`` is write-only and not seekable:
    write large buffers directly, without joining them first); ``read(stream)`` reads a
    value back (``stream`` is a seekable binary file). ``write_many``/``read_many``
    (optional) store a list of values as one file, e.g. a trajectory. ``read_file``
    (optional) reads a file saved in another format, given its suffix (``.traj``), so a
    copied file can be loaded ``as_type`` this type.
    """

    type: type[T]
    name: str = attrs.field(validator=_check_name)
    suffix: str = attrs.field(validator=_check_suffix)
    media_type: str
    write: Callable[[T, IO[bytes]], None]
    read: Callable[[IO[bytes]], T]
    write_many: Callable[[Sequence[T], IO[bytes]], None] | None = None
    read_many: Callable[[IO[bytes]], list[T]] | None = None
    read_file: Callable[[IO[bytes], str], T] | None = None
    read_file_many: Callable[[IO[bytes], str], list[T]] | None = None
    version: int = 1


Codec: TypeAlias = "JsonCodec[Any] | FileCodec[Any]"

# Built-in codecs, by the qualified name of the class they serve: the module that
# registers them is imported the first time such a class is met (never before).
_BUILTIN_TYPES: dict[str, str] = {
    "numpy.ndarray": "molexp.codecs.arrays",
    "numpy.generic": "molexp.codecs.arrays",
    "ase.atoms.Atoms": "molexp.codecs.structures",
    "datetime.datetime": "molexp.codecs.times",
    "datetime.date": "molexp.codecs.times",
    "datetime.time": "molexp.codecs.times",
    "datetime.timedelta": "molexp.codecs.times",
}
_BUILTIN_NAMES: dict[str, str] = {
    "numpy.ndarray": "molexp.codecs.arrays",
    "numpy.scalar": "molexp.codecs.arrays",
    "ase.atoms": "molexp.codecs.structures",
    "datetime": "molexp.codecs.times",
    "date": "molexp.codecs.times",
    "time": "molexp.codecs.times",
    "timedelta": "molexp.codecs.times",
}

_lock = threading.RLock()
_by_type: dict[type[Any], Codec] = {}
_by_name: dict[str, Codec] = {}
_user: dict[str, Codec] = {}
_cache: dict[type[Any], Codec | None] = {}
_generation = 0
_loaded: set[str] = set()


def generation() -> int:
    """A number that changes whenever a codec is registered or removed."""
    return _generation


def register(codec: JsonCodec[T] | FileCodec[T], *, replace: bool = False) -> None:
    """Make ``codec`` the way to store its type and subclasses (in this process, and on
    the Dask/process workers of runs started after this call).

    A second codec for the same type or name is a ValueError unless ``replace=True``.
    """
    _register(codec, replace=replace, user=True)


def _register(codec: Codec, *, replace: bool, user: bool) -> None:
    global _generation
    if not isinstance(codec, (JsonCodec, FileCodec)):
        raise TypeError(f"register() takes a JsonCodec or a FileCodec, not {codec!r}")
    if not isinstance(codec.type, type):
        raise TypeError(f"codec {codec.name!r}: its type must be a class, not {codec.type!r}")
    with _lock:
        old = _by_type.get(codec.type)
        named = _by_name.get(codec.name)
        if old is not None and old == codec and named == codec:
            if user:
                _user.setdefault(codec.name, codec)
            return  # already registered (a worker receiving the driver's codecs again)
        if not replace:
            if old is not None and old != codec:
                raise ValueError(
                    f"{_qualname(codec.type)} already has the codec {old.name!r}; "
                    "pass replace=True to replace it"
                )
            if named is not None and named != codec:
                raise ValueError(
                    f"a codec named {codec.name!r} is already registered (for "
                    f"{_qualname(named.type)}); codec names are unique"
                )
        if old is not None:
            _by_name.pop(old.name, None)
            _user.pop(old.name, None)
        if named is not None:
            _by_type.pop(named.type, None)
            _user.pop(named.name, None)
        _by_type[codec.type] = codec
        _by_name[codec.name] = codec
        if user:
            _user[codec.name] = codec
        _cache.clear()
        _generation += 1


def unregister(cls: type[Any]) -> None:
    """Forget the codec registered for exactly ``cls`` (KeyError if there is none)."""
    global _generation
    with _lock:
        codec = _by_type.pop(cls)
        _by_name.pop(codec.name, None)
        _user.pop(codec.name, None)
        _cache.clear()
        _generation += 1


def registered() -> list[Codec]:
    """The codecs registered by user code (not the built-in ones), in registration order."""
    with _lock:
        return list(_user.values())


def _qualname(cls: Any) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', repr(cls))}"


def origin_class(tp: Any) -> type[Any] | None:
    """The class behind a type form: ``NDArray[np.float64]`` -> ``numpy.ndarray``."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        return origin
    value = getattr(tp, "__value__", None)  # a PEP 695 type alias
    if value is not None:
        return origin_class(value)
    return None


def _load_builtin(module: str) -> None:
    if module in _loaded:
        return
    _loaded.add(module)
    importlib.import_module(module)


def lookup(tp: Any) -> Codec | None:
    """The codec for the class ``tp`` (or the class behind a generic alias), or None.

    The nearest class of the MRO with a codec wins.
    """
    cls = origin_class(tp)
    if cls is None:
        return None
    try:
        return _cache[cls]
    except KeyError:
        pass
    except TypeError:  # an unhashable metaclass instance: no codec
        return None
    found: Codec | None = None
    with _lock:
        for base in cls.__mro__:
            codec = _by_type.get(base)
            if codec is None:
                module = _BUILTIN_TYPES.get(_qualname(base))
                if module is not None and module not in _loaded:
                    _load_builtin(module)
                    codec = _by_type.get(base)
            if codec is not None:
                found = codec
                break
        _cache[cls] = found
    return found


def codec_named(name: str) -> Codec | None:
    """The codec registered under ``name`` (loading a built-in one on demand), or None."""
    codec = _by_name.get(name)
    if codec is None:
        module = _BUILTIN_NAMES.get(name)
        if module is not None:
            try:
                _load_builtin(module)
            except ImportError:
                return None
            codec = _by_name.get(name)
    return codec


def _register_builtin(codec: Codec) -> None:
    """For molexp's own codec modules: register without marking the codec as user code."""
    _register(codec, replace=True, user=False)
