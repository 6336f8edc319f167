"""``molexp report``: one offline HTML page about a run or an experiment.

The page holds the workflow graph drawn as a picture, per-task timings, the params/results
table (replicas summarised as mean ± standard error), plots of results against the swept
params and of numeric log series, and links to the artifacts. Everything is inline (CSS,
SVG drawn by matplotlib, the data as embedded JSON): opening it fetches nothing.

Needs the ``report`` extra (jinja2, matplotlib), imported only when a report is built;
``import molexp`` never imports them.
"""

from molexp.report.data import ReportData, collect
from molexp.report.render import ReportResult, render_html, write_report

__all__ = ["ReportData", "ReportResult", "collect", "render_html", "write_report"]
