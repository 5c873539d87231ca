"""Command line: ``python -m sandbox serve ...`` and ``python -m sandbox client ...``.

Examples::

    python -m sandbox serve --port 0 --seed 7 --items 300 --faults "500=0.1,slow=0.2:0.5"
    python -m sandbox client --url http://127.0.0.1:43123 --out .demo/client
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sandbox.app import ServeOptions, serve
from sandbox.civitai_busy import DEFAULT_SHARE as DEFAULT_BUSY_SHARE
from sandbox.client import write_client
from sandbox.errors import SandboxError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the stand-in platforms and the test TSA")
    run.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    run.add_argument("--seed", type=int, default=1, help="world seed (default 1)")
    run.add_argument("--items", type=int, default=300, help="number of items (default 300)")
    run.add_argument("--faults", default="", help='fault SPEC, e.g. "429=0.1,bomb=1"')
    run.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per sandbox second: 0.01 makes a 300 s rate-limit window 3 s "
        "and announces waits scaled the same way (default 1)",
    )
    run.add_argument(
        "--rate-limit",
        default="",
        help='Hub quotas per 5-minute window, e.g. "api=20,resolvers=50" '
        "(default: the anonymous ones, api=500,resolvers=3000,pages=100)",
    )
    run.add_argument(
        "--signed-ttl",
        type=float,
        default=3600.0,
        help="sandbox seconds a signed download URL stays valid (default 3600)",
    )
    run.add_argument(
        "--civitai-busy",
        type=float,
        default=DEFAULT_BUSY_SHARE,
        help="share of Civitai image listing URLs whose first request answers 503 with "
        f"Retry-After: 2 (scaled), as the real API does under load; 0 turns it off "
        f"(default {DEFAULT_BUSY_SHARE})",
    )
    run.add_argument(
        "--caller-country",
        default="",
        help="the country callers appear to come from (Cloudflare's cf-ipcountry); GB or UK "
        "makes Civitai's API answer 451 REGION_BLOCKED, as the real one does (default: none)",
    )
    run.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".sandbox-state"),
        help="TSA certificates and media cache (default ./.sandbox-state)",
    )
    client = commands.add_parser("client", help="write the demo client's references and watch.toml")
    client.add_argument("--url", required=True, help="base URL of a running sandbox")
    client.add_argument("--out", type=Path, required=True, help="output folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve(
                ServeOptions(
                    host=args.host,
                    port=args.port,
                    seed=args.seed,
                    items=args.items,
                    faults=args.faults,
                    state_dir=args.state_dir,
                    time_scale=args.time_scale,
                    rate_limit=args.rate_limit,
                    signed_ttl=args.signed_ttl,
                    civitai_busy=args.civitai_busy,
                    caller_country=args.caller_country,
                )
            )
        else:
            written = write_client(args.url, args.out)
            sys.stdout.write(f"wrote {len(written)} files under {args.out}\n")
    except SandboxError as exc:
        sys.stderr.write(f"sandbox: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
