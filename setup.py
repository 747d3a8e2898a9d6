"""Build glue that pyproject.toml cannot express: the package-dir mapping and the cffi extension.

The three top-level folders become one import namespace: core/ -> pli.core,
tui/ -> pli.tui, native/ -> pli.native.  Nothing named `core` or `tui` lands at
the top of site-packages.
"""
import os

from setuptools import setup

LAYERS = {"pli.core": "core", "pli.tui": "tui", "pli.native": "native"}


def packages_under(name: str, folder: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        if "__init__.py" in files:
            rel = os.path.relpath(root, folder)
            found.append(name if rel == "." else f"{name}.{rel.replace(os.sep, '.')}")
    return found


setup(
    package_dir=LAYERS,
    packages=[p for name, folder in LAYERS.items() for p in packages_under(name, folder)],
    package_data={"pli.tui": ["*.tcss"], "pli.native": ["*.h", "*.c"]},
    cffi_modules=["native/build_native.py:ffibuilder"],
    zip_safe=False,
)
