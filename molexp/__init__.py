"""molexp: typed task graphs for molecular-simulation workflows."""

from molexp._version import __version__
from molexp.context import TaskContext
from molexp.profile import ProfileConfig

__all__ = ["ProfileConfig", "TaskContext", "__version__"]
