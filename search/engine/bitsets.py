"""Sets of document numbers as bitsets: Python ints whose bit d stands for document d.

A corpus of N documents costs N/8 bytes a set, and union, intersection and counting run in C.
"""

from __future__ import annotations

import numpy as np


def bits_of(docnums, size: int) -> int:
    """A set of document numbers as a bitset: a Python int whose bit d stands for document d."""
    flags = np.zeros(size, dtype=bool)
    ids = docnums if isinstance(docnums, np.ndarray) else np.fromiter(docnums, dtype=np.int64)
    flags[ids] = True
    return packed(flags)


def packed(flags: np.ndarray) -> int:
    """An array of booleans as a bitset."""
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def mask(bits: int, size: int) -> np.ndarray:
    """A bitset as an array of ``size`` booleans."""
    data = np.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(data, count=size, bitorder="little").view(bool)


def docnum_array(bits: int, size: int) -> np.ndarray:
    """The document numbers in a bitset, in order, as an array."""
    return np.flatnonzero(mask(bits, size))


def docnums(bits: int) -> list[int]:
    """The document numbers in a bitset, in order."""
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    return [i * 8 + b for i, byte in enumerate(data) if byte for b in range(8) if byte >> b & 1]
