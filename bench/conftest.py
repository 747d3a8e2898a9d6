"""Benchmark configuration: record the machine (CPU model, SIMD flags, load) in every pytest-benchmark JSON."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_description() -> dict:
    """CPU model, logical cores and the SIMD flags that matter to the crypto core (Linux; empty elsewhere)."""
    info = {"cores": os.cpu_count(), "model": platform.processor() or platform.machine(), "simd_flags": []}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                info["model"] = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
                info["simd_flags"] = sorted(f for f in flags if f in {"avx2", "avx512f", "avx512vl", "asimd", "neon"})
                break
    return info


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["cpu_description"] = cpu_description()
    if hasattr(os, "getloadavg"):
        machine_info["loadavg_at_start"] = os.getloadavg()
