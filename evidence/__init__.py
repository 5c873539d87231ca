"""Prove and remember: the case file, capture, sealing, export, verification and notices.

The evidence package imports nothing of crawler or matching, nor scrapy or apscheduler.
"""

from __future__ import annotations
