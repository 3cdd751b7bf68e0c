"""Lighthouse, pinned in package.json / package-lock.json, run by `python -m bench.lighthouse`."""
