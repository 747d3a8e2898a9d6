"""The C sources build warning-free under every configuration we promise, and the fallbacks compute the same bytes.

The installed module is built by setuptools with -Wall -Wextra only (its flags
also reach cffi's generated glue, which -Wpedantic flags); here our own files
are compiled with -Wpedantic -Werror by gcc and clang, with the SIMD paths,
without them (-DPLI_NO_SIMD: what a non-x86 build compiles), with the 32-bit
Poly1305 (-DPLI_POLY1305_32: compilers without a 128-bit integer) and without
threads (-DPLI_NO_THREADS), and for aarch64 when a cross compiler is installed.  The portable
fallbacks are then loaded from a shared library and checked against OpenSSL.
"""
from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import cffi
import pytest
from cryptography.hazmat.primitives import poly1305 as openssl_poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

NATIVE = Path(__file__).resolve().parents[2] / "native"
sys.path.insert(0, str(NATIVE))
import build_native  # noqa: E402  (the source list and the cdef, from the one place that defines them)

SOURCES = [str(NATIVE / name) for name in build_native.SOURCES]
STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-pthread", f"-I{NATIVE}"]
# "portable": what a compiler without x86 intrinsics, 128-bit integers or POSIX threads gets.
VARIANTS = {"simd": [], "portable": ["-DPLI_NO_SIMD", "-DPLI_POLY1305_32", "-DPLI_NO_THREADS"]}
COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]


def compile_objects(cc: str, flags: list[str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([cc, *STRICT, *flags, "-c", *SOURCES], cwd=out, capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_sources_compile_pedantic_and_warning_free(cc, variant, tmp_path):
    compile_objects(cc, VARIANTS[variant], tmp_path)
    assert len(list(tmp_path.glob("*.o"))) == len(SOURCES)


def test_aarch64_cross_build(tmp_path):
    """NEON is baseline on aarch64: the portable C (auto-vectorized at -O3) is the "neon" path."""
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None or subprocess.run([cc, "-E", "-x", "c", "-"], input="#include <string.h>\n",
                                    capture_output=True, text=True).returncode != 0:
        pytest.skip("no aarch64 cross compiler (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross)")
    compile_objects(cc, ["-O3"], tmp_path)
    symbols = subprocess.run(["aarch64-linux-gnu-nm" if shutil.which("aarch64-linux-gnu-nm") else "nm",
                              str(tmp_path / "dispatch.o")], capture_output=True, text=True).stdout
    assert "pli_chacha20_xor_avx2" not in symbols
    strings = (tmp_path / "dispatch.o").read_bytes()
    assert b"neon" in strings


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """The core built with no SIMD and the 26-bit-limb Poly1305, loaded through cffi's ABI mode."""
    if "gcc" not in COMPILERS:
        pytest.skip("gcc not installed")
    out = tmp_path_factory.mktemp("portable")
    lib_path = out / "libpli_portable.so"
    subprocess.run(["gcc", *STRICT, "-O3", "-fPIC", "-shared", "-DPLI_NO_SIMD", "-DPLI_POLY1305_32",
                    "-o", str(lib_path), *SOURCES], check=True, capture_output=True)
    ffi = cffi.FFI()
    # ABI mode has no compiler to ask the #define values: the declarations without them.
    ffi.cdef("\n".join(line for line in build_native.CDEF.splitlines() if not line.startswith("#define")))
    return ffi, ffi.dlopen(str(lib_path))


def test_portable_build_matches_openssl(portable):
    ffi, lib = portable
    assert ffi.string(lib.pli_simd_path()) == b"scalar"
    assert lib.pli_select_simd_path(b"avx2") == -3
    rng = random.Random(32)
    for length in list(range(0, 700, 7)) + [4096, 65537]:
        key, nonce, msg = rng.randbytes(32), rng.randbytes(12), rng.randbytes(length)
        tag = ffi.new("uint8_t[16]")
        lib.pli_poly1305(tag, msg, length, key)
        assert bytes(tag) == openssl_poly1305.Poly1305.generate_tag(key, msg), length
        out = bytearray(length)
        assert lib.pli_chacha20_xor(ffi.from_buffer(out), msg, length, key, nonce, 7) == 0
        assert bytes(out) == Cipher(algorithms.ChaCha20(key, (7).to_bytes(4, "little") + nonce),
                                    None).encryptor().update(msg)
        data, tag_buf, aad = bytearray(msg), bytearray(16), rng.randbytes(length % 29)
        rec = ffi.new("pli_record *")
        keep = [ffi.from_buffer(data), ffi.from_buffer(aad), ffi.from_buffer(key), ffi.from_buffer(nonce),
                ffi.from_buffer(tag_buf)]
        rec.data, rec.len, rec.aad, rec.aad_len, rec.key, rec.nonce, rec.tag = (
            keep[0], length, keep[1], len(aad), keep[2], keep[3], keep[4])
        rec.kind = 1
        assert lib.pli_seal_batch(rec, 1) == 0
        assert bytes(data) + bytes(tag_buf) == ChaCha20Poly1305(key).encrypt(nonce, msg, aad)


def test_portable_build_single_messages_and_columns_match_openssl(portable):
    """The per-message core (keystream head, MAC) and the column batch in the build without SIMD, int128 or
    threads."""
    ffi, lib = portable
    rng = random.Random(33)
    plains = [rng.randbytes(n) for n in (0, 1, 63, 64, 65, 447, 448, 449, 1000, 4096)]
    keys, nonces = [rng.randbytes(32) for _ in plains], [rng.randbytes(12) for _ in plains]
    sealed = [ChaCha20Poly1305(k).encrypt(n, p, b"hdr") for k, n, p in zip(keys, nonces, plains)]
    for plain, key, nonce, expected in zip(plains, keys, nonces, sealed):
        out, tag = bytearray(len(plain)), bytearray(16)
        assert lib.pli_aead_seal(ffi.from_buffer(out), ffi.from_buffer(tag), plain, len(plain), b"hdr", 3, key,
                                 nonce) == 0
        assert bytes(out) + bytes(tag) == expected
    lengths = [len(p) for p in plains]
    out = bytearray(sum(lengths))
    aad = ffi.from_buffer(b"hdr")
    keep = {  # every cdata a struct field points to, alive until the call returns
        "out": ffi.from_buffer(out), "in": ffi.new("uint8_t *[]", [ffi.from_buffer(s) for s in sealed]),
        "len": ffi.new("size_t[]", lengths), "offset": ffi.new("size_t[]", [sum(lengths[:i]) for i in range(10)]),
        "keys": ffi.new("uint8_t[]", b"".join(keys)), "nonces": ffi.new("uint8_t[]", b"".join(nonces)),
        "aad": ffi.new("uint8_t *[]", [aad] * 10), "aad_len": ffi.new("size_t[]", [3] * 10),
        "status": ffi.new("int[]", 10),
    }
    c = ffi.new("pli_columns *")
    c.n, c.kind, c.out_len = 10, 1, len(out)
    for field, value in keep.items():
        setattr(c, field, value)
    failed = ffi.new("size_t *")
    assert lib.pli_open_columns(c, failed) == 0 and failed[0] == 0
    assert bytes(out) == b"".join(plains) and list(keep["status"]) == [0] * 10


def test_cffi_backend_is_built_here_with_optimisation():
    """Every call into the C core goes through _cffi_backend: `make install` builds cffi from its source (Makefile).

    The cffi wheel the package index serves (manylinux) was compiled without optimisation, which costs each
    call 40-100 ns (docs/NATIVE.md); a wheel built here carries the platform tag of this machine instead, and
    its debug information names the optimisation level it was compiled with."""
    import _cffi_backend
    from importlib.metadata import distribution
    tags = [line for line in distribution("cffi").read_text("WHEEL").splitlines() if line.startswith("Tag:")]
    assert tags and not any("manylinux" in tag or "musllinux" in tag for tag in tags), tags
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("no readelf (Debian: binutils) to read the compiler flags")
    info = subprocess.run([readelf, "--debug-dump=info", _cffi_backend.__file__], capture_output=True,
                          text=True).stdout
    producers = [line for line in info.splitlines() if "DW_AT_producer" in line]
    assert producers and all(" -O2" in p or " -O3" in p for p in producers), producers[:3]
