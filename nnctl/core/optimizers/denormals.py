"""The CPU's flush-to-zero mode, so that decaying float32 optimizer state never turns denormal."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

_MXCSR_FTZ_DAZ = 0x8040  # flush-to-zero (bit 15) and denormals-are-zero (bit 6)
_FENV_SIZE = 32  # sizeof(fenv_t) on glibc x86-64
_MXCSR_OFFSET = 28  # the x87 environment takes 28 bytes; the 32-bit MXCSR follows


def flush_denormals(enable: bool = True) -> bool:
    """Set (or clear) the SSE flush-to-zero and denormals-are-zero bits for the calling thread.

    With them set, results and inputs smaller than the smallest normal float (≈1.2e-38 in float32)
    are treated as 0, so decaying optimizer state no longer falls onto the CPU's slow denormal path.
    Only the calling thread changes (threads started later by it inherit the mode; BLAS worker
    threads that already exist do not). Works on x86-64 Linux with glibc through libm's
    ``fegetenv``/``fesetenv``; returns True on success and False (changing nothing) elsewhere or on
    any failure.
    """
    machine = platform.machine().lower()
    if platform.system() != "Linux" or machine not in ("x86_64", "amd64"):
        return False
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        env = (ctypes.c_uint8 * _FENV_SIZE)()
        if libm.fegetenv(ctypes.byref(env)) != 0:
            return False
        mxcsr = ctypes.c_uint32.from_buffer(env, _MXCSR_OFFSET)
        if mxcsr.value & 0xFFFF0000:
            return False  # reserved bits set: not an MXCSR (unexpected layout), change nothing
        wanted = (mxcsr.value | _MXCSR_FTZ_DAZ) if enable else (mxcsr.value & ~_MXCSR_FTZ_DAZ)
        mxcsr.value = wanted
        if libm.fesetenv(ctypes.byref(env)) != 0:
            return False
        check = (ctypes.c_uint8 * _FENV_SIZE)()
        libm.fegetenv(ctypes.byref(check))
        return (ctypes.c_uint32.from_buffer(check, _MXCSR_OFFSET).value & _MXCSR_FTZ_DAZ) == (wanted & _MXCSR_FTZ_DAZ)
    except (OSError, AttributeError, ValueError, TypeError):
        return False
