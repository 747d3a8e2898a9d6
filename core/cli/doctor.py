"""`pli doctor`: what pli runs on (crypto backend, SIMD path, versions), then the home's check-up."""
from __future__ import annotations

import platform
import sys
from importlib import metadata

from pli.core.cli.common import add_output, report_to
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check the build (crypto backend, versions) and the home: keyring, pads, "
                                      "directory, trace, store, outbox, accounts; exit 1 if something is wrong")
    p.add_argument("--online", action="store_true",
                   help="also connect to each account's SMTP and IMAP servers and log in")
    p.add_argument("--build-only", action="store_true",
                   help="only what pli runs on (what `make demo` checks): no home, no passphrase")
    add_output(p)
    p.set_defaults(func=run)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(args) -> int:
    home = Home.resolve(args.home)
    with report_to(args) as out:
        _print_build(home, out)
        if args.build_only or not home.root.exists():
            return 0
        # start-up: `pli` loads what a command needs only when that command runs
        from pli.core.checkup import check_home
        from pli.core.directory.resolve import unlock

        findings = check_home(home, unlock=unlock, online=args.online)
        print(file=out)
        print(render(findings), file=out)
    return 1 if any(f.status == "fail" for f in findings) else 0


def _print_build(home: Home, out) -> None:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto import primitives

    info = primitives.backend_info()
    rows = [
        ("pli", _version("pli")),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", f"{platform.system()} {platform.machine()}"),
        ("crypto backend", info.name),
        ("simd path", info.simd_path),
        ("native available", "yes" if info.native_available else f"no ({info.native_error})"),
        ("cryptography", _version("cryptography")),
        ("cffi", _version("cffi")),
        ("textual", _version("textual")),
        ("notmuch2", _version("notmuch2")),
        ("home", f"{home.root}{'' if home.root.exists() else ' (not created yet: run `pli init`)'}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}", file=out)


def render(findings) -> str:
    """One line per finding (`area  STATUS  text`), its fix on the next line, then the count of problems."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.plural import counted

    width = max(len(f.area) for f in findings)
    lines = []
    for f in findings:
        lines.append(f"{f.area:<{width}}  {f.status.upper() if f.status != 'ok' else 'ok':<4}  {f.text}")
        if f.fix and f.status != "ok":
            lines.append(f"{'':<{width}}        fix: {f.fix}")
    fails = sum(f.status == "fail" for f in findings)
    warns = sum(f.status == "warn" for f in findings)
    lines.append("")
    lines.append(f"{counted(fails, 'problem')}, {counted(warns, 'warning')}" if fails or warns
                 else "everything checked is fine")
    return "\n".join(lines)
