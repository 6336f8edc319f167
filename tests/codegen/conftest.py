"""Fixtures of the generator tests: a generated copy of the golden cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from codegen_helpers import RUNTIME_CASES, STUB_CASES, copy_cases


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the cases, generated in place (bootstrap: no generated module exists).

    Layout: <tmp>/cases/<case>/... and the stubs in <tmp>/stubs/.
    """
    from molexp_codegen.api import plan, write

    root = tmp_path_factory.mktemp("generated")
    cases = copy_cases(root / "cases")
    for case in RUNTIME_CASES:
        write(plan(str(cases / case / "workflow.py")))
    for case, module in STUB_CASES.items():
        write(plan(str(cases / case / module), stubs=root / "stubs"))
    return root
