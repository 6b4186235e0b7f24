"""Benchmarks and their shared helpers (not run by CI)."""
