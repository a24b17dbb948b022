"""Memory of the demo build: resident memory by phase and memory handed back between phases
(fangcang.demo.peak)."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from fangcang.demo import peak


def test_peak_rss_records_each_phase():
    with peak.PeakRSS(interval=0.01) as rss:
        with rss.phase("outer"):
            with rss.phase("inner"):
                block = bytearray(64 * 2**20)  # 64 MiB, touched
                rss.sample()
            del block
    peaks = rss.rounded()
    assert list(peaks) == ["outer", "inner"]
    assert peaks["outer"] >= peaks["inner"] >= 64


@pytest.mark.skipif(peak._TRIM is None, reason="malloc_trim is glibc's (Linux)")
def test_release_memory_hands_freed_heap_back():
    """Freed small blocks below a live one stay resident (glibc trims only the heap's top)
    until ``release_memory``: the demo's generation left 509 MiB resident, 216 MiB in use."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    size, n = 4096, 30_000  # 117 MiB in blocks below glibc's mmap threshold
    blocks = []
    for _ in range(n):
        p = libc.malloc(size)
        ctypes.memset(p, 1, size)  # make it resident
        blocks.append(p)
    pin = libc.malloc(64)  # above them: the heap's top cannot shrink past it
    try:
        for p in blocks:
            libc.free(p)
        before = peak.current_rss_mb()
        peak.release_memory()
        after = peak.current_rss_mb()
    finally:
        libc.free(pin)
    assert before - after > 40, (before, after)  # about 65 of the 117 MiB here
