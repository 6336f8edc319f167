"""The workflow graph as a picture: a layered drawing (top to bottom, like ``molexp graph``'s
Mermaid) made with matplotlib, so the report needs no JavaScript and no network."""

from __future__ import annotations

import re
from typing import Any

from molexp.report.data import GraphEdge, GraphNode, GraphSpec
from molexp.report.plots import _figure, to_svg

__all__ = ["MAX_DRAWN_NODES", "collapse", "graph_svg", "layers"]

MAX_DRAWN_NODES = 80
"""Larger graphs are drawn with map elements (``relax[3]``) folded into one node."""

_ELEMENT = re.compile(r"\[\d+\]")
_STATUS_COLORS = {
    "succeeded": "#e3f1e1",
    "failed": "#f6d5d1",
    "cancelled": "#e5e5e5",
    "running": "#fdf0c8",
}


def collapse(graph: GraphSpec) -> GraphSpec:
    """Map elements ``task[i]`` folded into ``task[*]`` (edges deduplicated)."""
    ids: dict[str, str] = {n.id: _ELEMENT.sub("[*]", n.id) for n in graph.nodes}
    if all(a == b for a, b in ids.items()):
        return graph
    nodes: dict[str, GraphNode] = {}
    for node in graph.nodes:
        nodes.setdefault(ids[node.id], GraphNode(ids[node.id], node.label, node.status))
    edges: dict[tuple[str, str], GraphEdge] = {}
    for edge in graph.edges:
        source, target = ids[edge.source], ids[edge.target]
        if source != target:
            edges.setdefault((source, target), GraphEdge(source, target, "", edge.stream))
    return GraphSpec(graph.name, tuple(nodes.values()), tuple(edges.values()))


def layers(graph: GraphSpec) -> list[list[str]]:
    """Node ids by depth (the longest path from a root), each layer in the order added."""
    upstream: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for edge in graph.edges:
        if edge.target in upstream and edge.source in upstream and not edge.stream:
            upstream[edge.target].append(edge.source)
    depth: dict[str, int] = {}

    def visit(node: str, trail: frozenset[str]) -> int:
        if node in depth:
            return depth[node]
        if node in trail:  # a cycle (a recorded graph is not validated): stop here
            return 0
        ups = upstream[node]
        depth[node] = 1 + max((visit(u, trail | {node}) for u in ups), default=-1)
        return depth[node]

    for node in upstream:
        visit(node, frozenset())
    result: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in upstream:
        result[depth[node]].append(node)
    return result


def graph_svg(graph: GraphSpec) -> str:
    """The graph drawn as boxes (task id over its class) and arrows; fan-in keys on edges."""
    if len(graph.nodes) > MAX_DRAWN_NODES:
        graph = collapse(graph)
    by_id = {n.id: n for n in graph.nodes}
    rows = layers(graph)
    widest = max((len(r) for r in rows), default=1)
    width = max(3.0, 2.1 * widest)
    height = max(1.4, 1.0 * len(rows))
    position: dict[str, tuple[float, float]] = {}
    for depth, row in enumerate(rows):
        for index, node_id in enumerate(row):
            x = (index + 0.5) * width / len(row)
            y = height - (depth + 0.5) * height / len(rows)
            position[node_id] = (x, y)
    with _figure("graph", width, height, layout=None) as figure:
        axes: Any = figure.add_axes((0, 0, 1, 1))
        axes.set_xlim(0, width)
        axes.set_ylim(0, height)
        axes.set_axis_off()
        box_h = 0.52  # a box's height in inches (1 data unit = 1 inch here)
        for edge in graph.edges:
            if edge.source not in position or edge.target not in position:
                continue
            (x0, y0), (x1, y1) = position[edge.source], position[edge.target]
            arrow = axes.annotate(
                "",
                xy=(x1, y1 + box_h / 2),
                xytext=(x0, y0 - box_h / 2),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "#555555",
                    "linewidth": 1,
                    "linestyle": "--" if edge.stream else "-",
                    "shrinkA": 0,
                    "shrinkB": 0,
                },
            )
            arrow.set_gid(f"edge-{edge.source}-{edge.target}")
            if edge.label:
                axes.text(
                    (x0 + x1) / 2,
                    (y0 + y1) / 2,
                    edge.label,
                    fontsize=7,
                    color="#333333",
                    ha="center",
                    va="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
                )
        for node_id, (x, y) in position.items():
            node = by_id[node_id]
            text = axes.text(
                x,
                y,
                f"{node.id}\n{node.label}" if node.label and node.label != node.id else node.id,
                ha="center",
                va="center",
                fontsize=8,
                bbox={
                    "boxstyle": "round,pad=0.35",
                    "fc": _STATUS_COLORS.get(node.status or "", "#e8eef8"),
                    "ec": "#4a72b0",
                    "linewidth": 1,
                },
            )
            text.set_gid(f"node-{node.id}")
        return to_svg(figure)
