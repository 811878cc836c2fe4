"""Start the app: uvicorn on 127.0.0.1 only, on a port of the user's or the system's choosing,
then open the browser on it."""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser
from pathlib import Path

import uvicorn

from icssim.app.server import create_app
from icssim.errors import IcssimError

#: The only address the app listens on: this machine.
HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free port chosen by the system)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise IcssimError(f"cannot listen on {HOST}:{port} ({exc.strerror}); choose another --port") from None
    sock.listen(64)
    return sock


def serve(port: int = 0, open_browser: bool = True, workers: int | None = None, root: Path | str = ".") -> int:
    """Serve the app for ``root`` until Ctrl-C."""
    sock = bind(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    app = create_app(root, workers)
    print(f"icssim app: {url} (working directory {Path(root).resolve()}; Ctrl-C to stop)", file=sys.stderr)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:   # uvicorn stopped gracefully, then passed Ctrl-C (or SIGTERM) on
        pass
    finally:
        stopped = app.state.jobs.stop_all()
    print("icssim app: stopped" + (f"; {stopped} unfinished run(s) cancelled (finished replications kept "
                                   "as `icssim run` keeps them when interrupted)" if stopped else ""),
          file=sys.stderr)
    return 0
