"""The training core: NumPy and the standard library only (no files, no printing, no CLI)."""
