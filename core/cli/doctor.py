"""`pli doctor`: what pli runs on (crypto backend, SIMD path, versions, where data lives)."""
from __future__ import annotations

import platform
import sys
from importlib import metadata

from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("doctor", help="show the crypto backend, versions and data locations")
    p.set_defaults(func=run)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(args) -> int:
    from pli.core.crypto import primitives

    info = primitives.backend_info()
    home = Home.resolve(args.home)
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
        print(f"{key:<{width}}  {value}")
    return 0
