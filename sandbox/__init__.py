"""A stand-in AI platform and a test RFC 3161 timestamp authority, served on 127.0.0.1.

Run it with ``python -m sandbox serve``; see docs/sandbox.md. The sandbox imports nothing of
the product, and the product never imports the sandbox (tests, benchmarks and the demo may).
"""

from __future__ import annotations
