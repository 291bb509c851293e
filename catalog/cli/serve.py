"""``cardiofair serve``: run the catalog service."""

from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger(__name__)


def register(sub) -> None:
    parser = sub.add_parser(
        "serve",
        help="serve the catalog over HTTP",
        description="Serve the web pages, harvesting endpoints and API.",
        epilog="examples:\n  cardiofair serve\n  cardiofair serve --port 8080\n"
        "  CARDIOFAIR_HOME=/srv/cardiofair cardiofair serve --host 0.0.0.0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8000") or 8000)
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from catalog.app import create_app
    from catalog.cli import CliError

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port}: expected a port number in 1..65535")
    app = create_app()
    url = f"http://{args.host}:{args.port}"
    print(f"cardiofair: serving on {url}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
