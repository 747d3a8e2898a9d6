"""The cffi build of the crypto core: pli.native._pli_native, in API (out-of-line) mode.

setup.py names it (cffi_modules=["native/build_native.py:ffibuilder"]); run
directly (`python native/build_native.py`) it builds the module in place for a
quick try.  The cdef is pli_crypto.h itself, minus what cffi's parser does not
take (preprocessor lines), so the contract is written down once.

cffi releases the GIL around every call of a function of an API-mode module
(the generated wrapper brackets the call with Py_BEGIN/END_ALLOW_THREADS), so
pli_open_batch and pli_seal_batch run while other Python threads go on.
"""
import os
import re

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "pli_crypto.h")

# One concept per file; the SIMD files compile to nothing off x86 (see pli_internal.h).
SOURCES = [
    "wipe.c", "chacha20.c", "chacha20_avx2.c", "chacha20_avx512.c", "poly1305.c", "poly1305_avx2.c",
    "poly1305_avx512.c", "otp.c", "otp_avx2.c", "otp_avx512.c", "batch.c", "parallel.c", "dispatch.c",
]

# -O3: gcc 12 at -O2 does not vectorize loops whose trip count is known only at run
# time (the portable XOR loops, all of the aarch64 "neon" path).  The SIMD paths
# select their instruction sets per function (target attributes), so no -m flag
# here: the module still runs on any CPU of its architecture.  No -Wpedantic: the
# flags reach cffi's generated glue too, which converts object pointers to function
# pointers; tests/native/test_native_build.py compiles our own files with
# -Wpedantic -Werror (gcc and clang, with and without SIMD) instead.
COMPILE_ARGS = ["-std=c99", "-O3", "-Wall", "-Wextra", "-fno-strict-aliasing", "-pthread"]
# Large batches and long ChaCha20 calls run on POSIX threads (parallel.c).
LINK_ARGS = ["-pthread"]


def _relative(path: str) -> str:
    """Paths relative to the build's working folder: setuptools refuses absolute source paths."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def cdef_from_header(text: str) -> str:
    """The header's declarations as cffi wants them.

    Integer #defines become `#define NAME ...` (cffi takes the value from the
    compiler) and their names in array sizes are replaced by their values;
    every other preprocessor line goes.
    """
    values = dict(re.findall(r"^#define\s+(PLI_\w+)\s+(-?\d+)", text, flags=re.M))
    body = re.sub(r"^\s*#.*$", "", text, flags=re.M)
    body = re.sub(r"\[(PLI_\w+)\]", lambda m: f"[{values[m.group(1)]}]", body)
    return "".join(f"#define {name} ...\n" for name in values) + body


with open(HEADER, encoding="utf-8") as f:
    CDEF = cdef_from_header(f.read())

ffibuilder = cffi.FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "pli.native._pli_native",
    '#include "pli_crypto.h"',
    sources=[_relative(os.path.join(HERE, name)) for name in SOURCES],
    include_dirs=[_relative(HERE)],
    extra_compile_args=COMPILE_ARGS,
    extra_link_args=LINK_ARGS,
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(HERE, "..", "build", "cffi"), verbose=True)
