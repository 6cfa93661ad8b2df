"""Coopol benchmarks: every hot path measured against bare Flask under the same gunicorn, and scale.

Run `python -m bench --help`. Figures are printed, written to `bench/results/latest.json` and drawn
as a PNG chart; nothing here is a test and nothing asserts a time.
"""
