"""Benchmarks: programs that start the platform, load it and print figures (never tests)."""
