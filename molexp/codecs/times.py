"""Built-in JSON codecs for ``datetime``, ``date``, ``time`` and ``timedelta``.

Stored as ISO 8601 text (a ``timedelta`` as ``{"days", "seconds", "microseconds"}``),
read back as the declared class: a stored task output or artifact of an attrs class with a
``datetime`` field comes back with a real, timezone-aware (when it was) ``datetime``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from molexp.codecs.registry import CodecError, JsonCodec, _register_builtin

__all__ = ["DATETIME_CODEC", "DATE_CODEC", "TIMEDELTA_CODEC", "TIME_CODEC"]


def _from_iso(kind: type[Any]) -> Any:
    def read(data: Any, declared: Any) -> Any:
        if isinstance(data, kind):
            return data
        if not isinstance(data, str):
            raise CodecError(f"expected ISO 8601 text for a {kind.__name__}, got {data!r}")
        try:
            return kind.fromisoformat(data)
        except ValueError as exc:
            raise CodecError(f"not an ISO 8601 {kind.__name__}: {data!r} ({exc})") from exc

    return read


def _delta_from_json(data: Any, declared: Any) -> _dt.timedelta:
    if isinstance(data, _dt.timedelta):
        return data
    if not isinstance(data, dict) or set(data) != {"days", "seconds", "microseconds"}:
        raise CodecError(f"expected {{days, seconds, microseconds}} for a timedelta, got {data!r}")
    return _dt.timedelta(
        days=data["days"], seconds=data["seconds"], microseconds=data["microseconds"]
    )


DATETIME_CODEC: JsonCodec[_dt.datetime] = JsonCodec(
    type=_dt.datetime,
    name="datetime",
    to_json=lambda value: value.isoformat(),
    from_json=_from_iso(_dt.datetime),
)
DATE_CODEC: JsonCodec[_dt.date] = JsonCodec(
    type=_dt.date,
    name="date",
    to_json=lambda value: value.isoformat(),
    from_json=_from_iso(_dt.date),
)
TIME_CODEC: JsonCodec[_dt.time] = JsonCodec(
    type=_dt.time,
    name="time",
    to_json=lambda value: value.isoformat(),
    from_json=_from_iso(_dt.time),
)
TIMEDELTA_CODEC: JsonCodec[_dt.timedelta] = JsonCodec(
    type=_dt.timedelta,
    name="timedelta",
    to_json=lambda value: {
        "days": value.days,
        "seconds": value.seconds,
        "microseconds": value.microseconds,
    },
    from_json=_delta_from_json,
)

for _codec in (DATETIME_CODEC, DATE_CODEC, TIME_CODEC, TIMEDELTA_CODEC):
    _register_builtin(_codec)
