"""Benchmarks that measure this machine's floor in the same run (python -m bench.NAME)."""
