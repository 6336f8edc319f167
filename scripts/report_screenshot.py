"""Regenerate docs/report.png: run docs/report.md's example, open its report in headless
Chromium (the test suite's DevTools client, tests/report/cdp.py) and screenshot it.

    python scripts/report_screenshot.py [--output docs/report.png]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _cdp() -> Any:
    spec = importlib.util.spec_from_file_location(
        "molexp_cdp", REPO / "tests" / "report" / "cdp.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "report.png")
    args = parser.parse_args()
    cdp = _cdp()
    browser = cdp.chromium_path()
    if browser is None:
        sys.exit("chromium is not installed (Debian: apt-get install chromium)")
    doc = (REPO / "docs" / "report.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", doc, re.S | re.M)
    output = args.output.resolve()
    with tempfile.TemporaryDirectory(prefix="molexp-report-shot-") as folder:
        os.chdir(folder)
        namespace: dict[str, object] = {"__name__": "doc_report"}
        for number, block in enumerate(blocks, 1):
            exec(compile(block, f"report.md python block {number}", "exec"), namespace)
        page = Path(folder, "report.html")
        with cdp.open_browser(browser) as chromium:
            session, seen = chromium.load(page.as_uri(), width=1200, height=900)
            if seen.console_errors or seen.exceptions or len(seen.requests) != 1:
                sys.exit(f"the page misbehaved: {seen.__dict__}")
            bottom = chromium.evaluate(
                session, "document.getElementById('logs').getBoundingClientRect().bottom"
            )
            chromium.call(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": 1200,
                    "height": int(bottom) + 10,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
                session=session,
            )
            png = chromium.screenshot(session)
    output.write_bytes(png)
    print(f"{output}: {len(png) / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
