"""Where things live on disk: the one place that knows folder and file names.

```
<root>/
  workspace.json                       format marker, creation time
  manifest.jsonl  assets/              workspace-scope assets
  .molexp/catalog.sqlite               derived index (rebuildable), catalog.lock
  projects/<project>/
    project.json  manifest.jsonl  assets/
    experiments/<experiment>/
      experiment.json  manifest.jsonl  assets/
      runs/<run_id>/
        run.json                       status, params, profile, error (atomic)
        results.jsonl                  set_result values, appended (a later key wins)
        manifest.jsonl                 every asset record of the run (append-only)
        artifacts/<name>               latest version of each artifact (hard link)
        artifacts/.versions/000042-<basename>   every version, read-only (written on a
                                       Dask worker: <16 hex of the asset id>-<basename>)
        logs/<name>.log                append-only text
        checkpoints/<name>/000001.json the checkpoint chain, read-only (<16 hex>.json
                                       when written on a worker; the manifest orders it)
        .run.lock  .owner.lock  heartbeat
```
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import attrs

from molexp.workspace.names import check_scope_name, is_scope_name

__all__ = [
    "CATALOG_DIR",
    "MANIFEST",
    "RUN_JSON",
    "ScopeKey",
    "ScopeKind",
    "scope_folders",
]

log = logging.getLogger("molexp.workspace")

ScopeKind = Literal["workspace", "project", "experiment", "run"]

WORKSPACE_JSON = "workspace.json"
PROJECT_JSON = "project.json"
EXPERIMENT_JSON = "experiment.json"
RUN_JSON = "run.json"
RESULTS = "results.jsonl"
MANIFEST = "manifest.jsonl"
CATALOG_DIR = ".molexp"
CATALOG_DB = "catalog.sqlite"
CATALOG_LOCK = "catalog.lock"
PROJECTS = "projects"
EXPERIMENTS = "experiments"
RUNS = "runs"
SCOPE_ASSETS = "assets"
ARTIFACTS = "artifacts"
LOGS = "logs"
CHECKPOINTS = "checkpoints"
VERSIONS = ".versions"
RUN_LOCK = ".run.lock"
OWNER_LOCK = ".owner.lock"
HEARTBEAT = "heartbeat"


@attrs.frozen
class ScopeKey:
    """Which folder an asset belongs to: the workspace, a project, an experiment or a run."""

    scope: ScopeKind
    project: str | None = None
    experiment: str | None = None
    run_id: str | None = None

    def __attrs_post_init__(self) -> None:
        # A key names folders: from a user, a catalog row or a folder listing, it is checked
        # here, once, so that no key can point outside the workspace.
        for kind, name in (
            ("project", self.project),
            ("experiment", self.experiment),
            ("run id", self.run_id),
        ):
            if name is not None:
                check_scope_name(kind, name)

    def relpath(self) -> str:
        """The scope folder relative to the workspace root (``""`` for the workspace)."""
        if self.scope == "workspace":
            return ""
        parts = [PROJECTS, str(self.project)]
        if self.scope in ("experiment", "run"):
            parts += [EXPERIMENTS, str(self.experiment)]
        if self.scope == "run":
            parts += [RUNS, str(self.run_id)]
        return "/".join(parts)

    def folder(self, root: Path) -> Path:
        rel = self.relpath()
        return root / rel if rel else root

    def parent(self) -> ScopeKey | None:
        """The next scope up (run -> experiment -> project -> workspace -> None)."""
        if self.scope == "run":
            return ScopeKey("experiment", self.project, self.experiment)
        if self.scope == "experiment":
            return ScopeKey("project", self.project)
        if self.scope == "project":
            return ScopeKey("workspace")
        return None

    def __str__(self) -> str:
        if self.scope == "workspace":
            return "workspace"
        if self.scope == "project":
            return f"project {self.project!r}"
        if self.scope == "experiment":
            return f"experiment {self.project}/{self.experiment}"
        return f"run {self.project}/{self.experiment}/{self.run_id}"


def scope_folders(folder: Path) -> list[str]:
    """The scope folders in ``folder``: real folders (a symbolic link is never followed out of
    the workspace) whose names are valid scope names; anything else is logged and skipped."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    with entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                log.warning("%s: a symbolic link, not followed", entry.path)
            elif entry.is_dir(follow_symlinks=False):
                if is_scope_name(entry.name):
                    found.append(entry.name)
                else:
                    log.warning("%r: not a valid scope folder name; skipped", entry.path)
    return sorted(found)
