"""Benchmarks for feeder: `python -m bench` prints the table in docs/benchmarks.md.

A seeded corpus of wire-format articles (corpus), the raw limit of reading,
splitting, hashing and inserting them (raw), installations of feeder run as
an operator runs them (workspace), the scenarios and targets of issue 6
(scenarios) and the table (table).
"""
