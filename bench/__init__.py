"""Benchmarks for dts: each prints figures beside a reference measured in the same run.

Run `python -m bench` (all) or `python -m bench tick throughput` (some); see
docs/benchmarks.md. Benchmarks are not tests: nothing here fails on a slow machine.
"""
