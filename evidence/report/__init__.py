"""The bilingual (English / 简体中文) court report per finding: HTML and PDF."""

from __future__ import annotations

from evidence.report.render import ReportInput, render_html, render_reports

__all__ = ["ReportInput", "render_html", "render_reports"]
