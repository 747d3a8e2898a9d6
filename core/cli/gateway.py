"""`pli gateway serve`: run the receiving SMTP gateway that accepts only sealed, signed mail."""
from __future__ import annotations

from pathlib import Path

from pli.core.cli.common import add_actions
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("gateway", help="the receiving gateway of a domain (SMTP, sealed mail only)")
    cmds = add_actions(p, "gateway")
    serve = cmds.add_parser("serve", help="accept sealed, signed mail for the domain's aliases until stopped")
    serve.add_argument("--listen", metavar="HOST:PORT", help="where to listen (default: [gateway] listen)")
    serve.add_argument("--config", type=Path, metavar="FILE",
                       help="the TOML file with the [gateway] section (default: the home's config.toml)")
    serve.add_argument("--workers", type=int, default=1, help="processes accepting on the port (default 1)")
    serve.set_defaults(func=run_serve)


def run_serve(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.errors import UsageError
    from pli.core.transport.gateway import run_gateway
    from pli.core.transport.gateway_config import load_gateway_config, parse_listen

    config = load_gateway_config(args.config or Home.resolve(args.home).config)
    listen = parse_listen(args.listen) if args.listen else config.listen
    if listen is None:
        raise UsageError("no address to listen on: pass --listen HOST:PORT or set [gateway] listen")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    run_gateway(config, listen, args.workers)
    return 0
