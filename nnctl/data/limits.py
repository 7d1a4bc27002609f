"""How much one file may make nnctl allocate, checked against what the file declares before any
allocation: an NPZ member's ``.npy`` header and its size in the archive, an IDX file's dimensions.

A file can declare far more than it holds (a header that lies) or hold far more than it looks
(a compressed member of zeros: a 4 MiB archive that decompresses to gigabytes). Both are refused
with one line instead of the machine swapping or the process being killed for memory.
"""

from __future__ import annotations

#: the decoded size of one array read from a file (an NPZ member, an IDX file); CIFAR-10's
#: training images are 150 MiB, MNIST's 45 MiB
MAX_ARRAY_BYTES = 4 << 30
#: dimensions of an IDX file (MNIST's images have 3)
MAX_IDX_DIMS = 8


def size_text(nbytes: int) -> str:
    """``4.0 GiB``, ``150 MiB``, ``812 bytes``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.3g} {unit}"
    return f"{nbytes} bytes"


def too_large(origin: str, what: str, nbytes: int) -> str | None:
    """A message when ``nbytes`` exceeds :data:`MAX_ARRAY_BYTES`, else None."""
    if nbytes <= MAX_ARRAY_BYTES:
        return None
    return (
        f"{origin}: {what} would take {size_text(nbytes)} decoded, more than the "
        f"{size_text(MAX_ARRAY_BYTES)} nnctl reads from one file"
    )
