"""The workflow layer: tasks, the graph and its introspection."""

from molexp.workflow.actor import Actor
from molexp.workflow.compose import SubWorkflow
from molexp.workflow.errors import (
    ActorYieldError,
    TypeResolutionError,
    WorkflowDefinitionError,
)
from molexp.workflow.graph import Node, Workflow
from molexp.workflow.task import Task

__all__ = [
    "Actor",
    "ActorYieldError",
    "Node",
    "SubWorkflow",
    "Task",
    "TypeResolutionError",
    "Workflow",
    "WorkflowDefinitionError",
]
