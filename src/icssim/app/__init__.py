"""``icssim app``: a local web app over the same engine and files as the command line.

Build, run, compare and explore scenarios in the browser, for planners who do not write YAML.
The app is a small ASGI application (Starlette, Jinja2 templates rendered on the server,
uvicorn), installed with ``pip install 'icssim[app]'``; nothing here imports it until the
command runs, so the command line stays light. Design and safety: ``docs/app.md``.
"""

from __future__ import annotations

import argparse

#: What to install when the framework is missing.
INSTALL_HINT = "the app needs its extra: pip install 'icssim[app]'"


def register(sub) -> None:
    """Add ``icssim app`` to the command line's subcommands."""
    p = sub.add_parser("app", help="a local web app: edit, run, compare and explore scenarios in the browser")
    p.add_argument("--port", type=_port, default=0,
                   help="port on 127.0.0.1 (default: a free one chosen by the system)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.add_argument("--workers", "-w", type=int, default=None,
                   help="worker processes per run (default: all cores)")
    p.set_defaults(handler=cmd_app)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, found {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, found {value}")
    return value


def cmd_app(args: argparse.Namespace) -> int:
    from icssim.errors import IcssimError

    try:
        from icssim.app.serve import serve
    except ImportError as exc:  # the extra is not installed
        raise IcssimError(f"{INSTALL_HINT} ({exc.name or exc} is missing)") from None
    return serve(port=args.port, open_browser=not args.no_browser, workers=args.workers)
