"""Benchmarks for feeder: `python -m bench` prints the table in docs/benchmarks.md.

A seeded corpus of wire-format articles (corpus), the raw limit of reading,
splitting, hashing and inserting them (raw), installations of feeder run as
an operator runs them (workspace), the scenarios and the targets
docs/benchmarks.md sets them against (scenarios) and the table (table).
"""
