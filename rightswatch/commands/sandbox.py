"""``rightswatch sandbox``: run the stand-in platform and write the demo client.

The product never imports the ``sandbox`` package; these commands run it as a child process
(``python -m sandbox ...``) and pass its exit code on.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import click


def _run(arguments: list[str]) -> None:
    child = subprocess.Popen([sys.executable, "-m", "sandbox", *arguments])

    def stop(signum: int, frame: FrameType | None) -> None:
        child.terminate()

    previous = signal.signal(signal.SIGTERM, stop)  # never leave the server behind
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.terminate()
        child.wait()
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    raise SystemExit(code)


@click.group("sandbox")
def sandbox() -> None:
    """Stand-in AI platform and test TSA on 127.0.0.1 (demo, tests).

    Example: rightswatch sandbox serve --port 8800 --items 500
    """


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address.")
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--seed", type=int, default=1, show_default=True, help="World seed.")
@click.option("--items", type=int, default=300, show_default=True, help="Number of items.")
@click.option("--faults", default="", help='Fault SPEC, e.g. "429=0.1,bomb=1" (docs/sandbox.md).')
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".sandbox-state"),
    show_default=True,
    help="TSA certificates and media cache.",
)
def serve(host: str, port: int, seed: int, items: int, faults: str, state_dir: Path) -> None:
    """Serve the sandbox; the first stdout line is its base URL.

    Example: rightswatch sandbox serve --port 8800 --items 2000 --faults "500=0.05"
    """
    arguments = ["serve", "--host", host, "--port", str(port), "--seed", str(seed)]
    arguments += ["--items", str(items), "--state-dir", str(state_dir)]
    if faults:
        arguments += ["--faults", faults]
    _run(arguments)


@sandbox.command("client")
@click.option("--url", required=True, help="Base URL of a running sandbox.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for references/ and watch.toml.",
)
def client(url: str, out: Path) -> None:
    """Write the demo client's reference images and a watch.toml aimed at the sandbox.

    Example: rightswatch sandbox client --url http://127.0.0.1:8800 --out .demo/client
    """
    _run(["client", "--url", url, "--out", str(out)])
