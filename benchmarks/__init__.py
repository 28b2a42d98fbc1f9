"""Benchmarks: measured, never typed in."""
