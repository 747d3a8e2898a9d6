"""Turn a pytest-benchmark JSON of bench/test_bench_crypto.py into the markdown of bench/RESULTS.md.

    .venv/bin/python bench/report.py bench/crypto.json

Prints one table per group (median and fastest round, throughput, speed
relative to the group's peer: a bare cffi call, OpenSSL through
`cryptography`, a memory copy, or one `cryptography` AEAD call per message),
then the targets of issues 17 and 2 with what was measured, then the machine.
A target is judged on the medians; the ratio of the fastest rounds is shown
beside it because on a shared machine other jobs only ever add time: it is
the closer estimate of an undisturbed core, the median of a loaded one.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass

MB = 1e6


@dataclass(frozen=True)
class Row:
    group: str
    impl: str
    median: float      # seconds
    fastest: float     # seconds: the fastest round
    rounds: int
    size: int          # bytes per call
    peer: bool
    auto: bool         # the native SIMD path the CPU picks by itself
    info: dict         # the row's extra_info (SIMD paths, OPENSSL_ia32cap)


@dataclass(frozen=True)
class Target:
    label: str
    group: str
    impl: str                   # an implementation's name, "native-auto" (the CPU's path) or "native <path>"
    goal: float
    measure: str                # "ratio" (x the peer's speed), "MB/s", or "us" (time of one call, at most)


BATCH = "100,000 x 4 KiB authenticate + decrypt"
ISSUE_17 = [
    Target("1. a small call through pli.core.crypto (64 B pad XOR in place)", "small call (64 B pad XOR in place)",
           "primitives.otp_xor (checks included)", 0.3, "us"),
    Target("2. native ChaCha20 4 KiB, AVX2, vs OpenSSL", "chacha20 4KiB", "native avx2", 1.0, "ratio"),
    Target("2. native ChaCha20 64 KiB, AVX2, vs OpenSSL", "chacha20 64KiB", "native avx2", 1.0, "ratio"),
    Target("2. native ChaCha20 4 KiB, AVX-512, vs OpenSSL", "chacha20 4KiB", "native avx512", 1.0, "ratio"),
    Target("2. native ChaCha20 64 KiB, AVX-512, vs OpenSSL", "chacha20 64KiB", "native avx512", 1.0, "ratio"),
    Target("3. native Poly1305 4 KiB vs cryptography's Poly1305", "poly1305 4KiB", "native-auto", 1.0, "ratio"),
    Target("4. native pad XOR in place 4 KiB vs a memory copy", "otp xor in place 4KiB", "native-auto", 0.5, "ratio"),
    Target("5. open 100,000 x 4 KiB in column batches (built from the mails), one thread, vs one cryptography call "
           "per message", BATCH, "native open_columns, columns built from the mails, 1 thread(s)", 3.0, "ratio"),
    Target("5. the same, two threads", BATCH, "native open_columns, columns built from the mails, 2 thread(s)", 3.0,
           "ratio"),
]
ISSUE_2 = [
    Target("native ChaCha20, 64 MiB, vs OpenSSL (cryptography update_into)", "chacha20 64MiB", "native-auto", 1.0,
           "ratio"),
    Target("native pad XOR in place, 64 MiB, vs a memory copy", "otp xor in place 64MiB", "native-auto", 0.65, "ratio"),
    Target("pure-Python pad XOR in place, 64 MiB", "otp xor in place 64MiB", "pure Python", 200.0, "MB/s"),
]


def load(path: str) -> tuple[list[Row], dict]:
    with open(path) as f:
        data = json.load(f)
    rows = [Row(b["group"], b["extra_info"]["impl"], b["stats"]["median"], b["stats"]["min"], b["stats"]["rounds"],
                b["extra_info"]["bytes"], b["extra_info"].get("peer", False), b["extra_info"].get("auto", False),
                b["extra_info"]) for b in data["benchmarks"] if "impl" in b.get("extra_info", {})]
    return rows, data


def duration(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def peer_of(rows: list[Row], group: str) -> Row | None:
    return next((r for r in rows if r.group == group and r.peer), None)


def tables(rows: list[Row]) -> list[str]:
    out = ["| group | implementation | median | fastest | throughput (median) | vs peer (median) | vs peer (fastest) |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for group in dict.fromkeys(r.group for r in rows):
        peer = peer_of(rows, group)
        for r in sorted((r for r in rows if r.group == group), key=lambda r: r.median):
            ratio = "peer" if r.peer else (f"{peer.median / r.median:.2f}x" if peer else "")
            fast = "peer" if r.peer else (f"{peer.fastest / r.fastest:.2f}x" if peer else "")
            name = r.impl + (" (auto)" if r.auto else "")
            out.append(f"| {group} | {name} | {duration(r.median)} | {duration(r.fastest)} | "
                       f"{r.size / r.median / MB:,.0f} MB/s | {ratio} | {fast} |")
    return out


def find(rows: list[Row], target: Target) -> Row | None:
    for r in rows:
        if r.group == target.group and (r.impl == target.impl or (target.impl == "native-auto" and r.auto)):
            return r
    return None


def paths(rows: list[Row]) -> str:
    """Which native path ran where: the CPU's own choice, and what OpenSSL was allowed."""
    auto = next((r.info.get("auto_path") for r in rows if r.info.get("auto_path")), None)
    cap = next((r.info.get("openssl_cap") for r in rows if r.info.get("openssl_cap")), None)
    return (f"- native SIMD path the CPU picks: {auto or '?'} (rows name the path they forced); OpenSSL: "
            + (f"OPENSSL_ia32cap={cap}" if cap else "its own choice for this CPU"))


def targets(rows: list[Row], wanted: list[Target]) -> list[str]:
    out = ["| target | goal | measured (median) | fastest rounds | peer in the same run (median) | met |",
           "|---|---:|---:|---:|---|:---:|"]
    for t in wanted:
        row, peer = find(rows, t), peer_of(rows, t.group)
        if row is None or (t.measure == "ratio" and peer is None):
            out.append(f"| {t.label} | {t.goal} | not measured | | | - |")
            continue
        if t.measure == "us":
            value, shown, goal = row.median * 1e6, duration(row.median), f"<= {t.goal} us"
            fastest = duration(row.fastest)
            met = value <= t.goal
            against = f"{peer.impl}: {duration(peer.median)}" if peer else ""
        else:
            value = peer.median / row.median if t.measure == "ratio" else row.size / row.median / MB
            shown = f"{value:.2f}x ({duration(row.median)})" if t.measure == "ratio" else f"{value:,.0f} MB/s"
            fastest = (f"{peer.fastest / row.fastest:.2f}x" if t.measure == "ratio"
                       else f"{row.size / row.fastest / MB:,.0f} MB/s")
            goal = f">= {t.goal}x" if t.measure == "ratio" else f">= {t.goal:.0f} MB/s"
            met = value >= t.goal
            against = f"{peer.impl}: {duration(peer.median)}" if peer else ""
        verdict = "yes" if met else (f"no ({t.goal / value:.0%} of the goal's time)" if t.measure == "us" else
                                     f"no ({value / t.goal:.0%} of the goal)")
        out.append(f"| {t.label} | {goal} | {shown} | {fastest} | {against} | {verdict} |")
    return out


def machine(data: dict) -> list[str]:
    info = data.get("machine_info", {})
    cpu = info.get("cpu_description", {})
    load = info.get("loadavg_at_start")
    return [f"- CPU: {cpu.get('model', '?')}, {cpu.get('cores', '?')} logical cores, SIMD flags: "
            f"{', '.join(cpu.get('simd_flags', [])) or 'none found'}",
            f"- Python {info.get('python_version', '?')} ({info.get('python_implementation', '?')}), "
            f"{info.get('system', '?')} {info.get('release', '')}",
            f"- date: {data.get('datetime', '?')}",
            f"- load average when the run started: {', '.join(f'{x:.2f}' for x in load) if load else '?'}"]


def main(path: str) -> int:
    rows, data = load(path)
    print("\n".join(tables(rows) + ["", "Issue 17:", ""] + targets(rows, ISSUE_17) + ["", "Issue 2:", ""]
                    + targets(rows, ISSUE_2) + [""] + machine(data) + [paths(rows)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "bench/crypto.json"))
