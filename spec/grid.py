"""The grid: a tree of substations, transformers and service points (GRD-01 .. GRD-05, INV-14).

Every node's market zone is its nearest substation ancestor. Registration keeps the grid a tree by
construction: the first node is the root substation, every later node hangs below a registered
parent, and ids are never reused. ``grid_graph`` gives the tree as a networkx graph for checks and
tools.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import networkx as nx

from spec import wire
from spec.errors import require
from spec.state import AccountId, GridNode, NodeKind, State
from spec.units import NodeId, PriceSenPerKwh


@dataclass(frozen=True)
class RegisterNode:
    """Body of a REGISTER_NODE transaction."""

    node: NodeId
    kind: NodeKind
    parent: NodeId | None
    wheeling_fee: PriceSenPerKwh


REGISTER_NODE_FIELDS: Final = (
    wire.Field(0, "node", wire.uint(NodeId)),
    wire.Field(1, "kind", wire.enum(NodeKind)),
    wire.Field(2, "parent", wire.nullable(wire.uint(NodeId))),
    wire.Field(3, "wheeling_fee", wire.uint(PriceSenPerKwh)),
)


def register_node(state: State, sender: AccountId, body: RegisterNode) -> State:
    """Add a grid node below a registered parent; a substation starts a new zone."""
    require(body.node not in state.nodes, "GRD-01")
    if not state.nodes:
        require(body.parent is None and body.kind is NodeKind.SUBSTATION, "GRD-03", "root")
    else:
        require(body.parent is not None, "GRD-03", "only the first node has no parent")
    require(body.kind is NodeKind.SUBSTATION or body.wheeling_fee == 0, "GRD-04")
    if body.parent is None:
        zone = body.node
    else:
        require(body.parent in state.nodes, "GRD-02")
        parent = state.nodes[body.parent]
        require(parent.kind is not NodeKind.SERVICE_POINT, "GRD-05")
        zone = body.node if body.kind is NodeKind.SUBSTATION else parent.zone
    node = GridNode(body.kind, body.parent, body.wheeling_fee, NodeId(zone))
    return replace(state, nodes=state.nodes.set(body.node, node))


def grid_graph(state: State) -> nx.DiGraph:
    """The grid as a directed graph, edges from parent to child."""
    graph = nx.DiGraph()
    for node_id in sorted(state.nodes):
        graph.add_node(node_id, kind=state.nodes[node_id].kind)
    for node_id in sorted(state.nodes):
        parent = state.nodes[node_id].parent
        if parent is not None:
            graph.add_edge(parent, node_id)
    return graph


def nearest_substation(graph: nx.DiGraph, node_id: int) -> int:
    """The node itself if it is a substation, else its nearest substation ancestor."""
    current = node_id
    while graph.nodes[current]["kind"] is not NodeKind.SUBSTATION:
        (current,) = graph.predecessors(current)
    return current
