"""The wiring fingerprint of a workflow, recorded by ``molexp gen`` and checked at runtime.

The edge checks prove a graph against the types; they cannot see a graph that changed
after ``molexp gen`` (an ``after=`` moved, a fan-in key removed): the old generated module
still type-checks, and the run would fail late (a ``KeyError`` deep in a task). So the
generated module records, per workflow, a fingerprint of the wiring it was generated from,
and registers it when it is imported (task modules import it to annotate their contexts).
Before any task runs, the runtime compares it with the workflow being executed and refuses
a stale module, naming it and ``molexp gen``.

The fingerprint covers what the generated contexts encode and the types do not: node ids,
task classes, input shapes and fan-in forms, keys and upstreams, actor channels, and which
actors declare ``always_yields`` (the tasks after them receive ``Y``, not ``Y | None``).
Output types are covered statically (the edge checks compare each upstream's declared output).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from molexp.workflow.errors import WorkflowDefinitionError
from molexp.workflow.graph import Workflow

__all__ = [
    "StaleGeneratedModuleError",
    "check_fresh",
    "register_generated",
    "wiring_fingerprint",
]


class StaleGeneratedModuleError(WorkflowDefinitionError):
    """The generated contexts of a workflow were made from another graph."""


# (workflow module, workflow name) -> (generated module, fingerprint)
_REGISTRY: dict[tuple[str, str], tuple[str, str]] = {}


def wiring_fingerprint(workflow: Workflow[Any, Any, Any]) -> str:
    """16 hex digits of the sha256 of the workflow's wiring (stable across Pythons)."""
    cached: tuple[int, str] | None = getattr(workflow, "_fingerprint_cache", None)
    if cached is not None and cached[0] == len(workflow):
        return cached[1]
    nodes = []
    for node in workflow.nodes:
        cls = type(node.task)
        nodes.append(
            [
                node.id,
                f"{cls.__module__}:{cls.__qualname__}",
                # a map node's context takes one element: "map" changes what gen writes
                "map" if node.map is not None else node.input_shape,
                node.fan_in_form if node.input_shape == "fan_in" else None,
                [[key, up.id] for key, up in node.input_upstream.items()],
                [[key, up.id] for key, up in node.channel_upstream.items()],
                # The contexts after an actor that declares always_yields were generated as
                # receiving Y, not Y | None: removing it makes them unsound. Marked only
                # when set, so graphs without it keep their fingerprints.
                *(
                    ["always_yields"]
                    if node.is_actor and getattr(cls, "always_yields", False) is True
                    else []
                ),
            ]
        )
    import hashlib  # here, not at the top: `import molexp` stays near `import asyncio`
    import json

    blob = json.dumps([workflow.name, nodes], separators=(",", ":")).encode()
    digest = hashlib.sha256(blob).hexdigest()[:16]
    workflow._fingerprint_cache = (len(workflow), digest)  # type: ignore[attr-defined]
    return digest


def register_generated(module: str, source: str, fingerprints: Mapping[str, str]) -> None:
    """Called by a generated contexts module when it is imported: ``module`` is its own
    name, ``source`` the workflow module it was generated from."""
    for name, fingerprint in fingerprints.items():
        _REGISTRY[(source, name)] = (module, fingerprint)


def check_fresh(workflow: Workflow[Any, Any, Any]) -> None:
    """Raise ``StaleGeneratedModuleError`` when an imported generated module recorded
    another wiring for ``workflow``; say nothing when none was imported."""
    if workflow.module is None:
        return
    recorded = _REGISTRY.get((workflow.module, workflow.name))
    if recorded is None:
        return
    module, fingerprint = recorded
    actual = wiring_fingerprint(workflow)
    if actual != fingerprint:
        raise StaleGeneratedModuleError(
            f"workflow {workflow.name!r}: the generated module {module} is stale (it was made "
            f"from wiring {fingerprint}, the graph is now {actual}: an after=, a fan-in key, "
            f"a task or its class changed); run `molexp gen` on {workflow.module} and check "
            "again before running"
        )
