"""Benchmarks of promoter against the sandbox: API calls, rate-limit-bound wall time, CPU, start
time and memory, and a sequential httpx script as the baseline. Run with ``make bench``
(``python -m benchmarks``); docs/benchmarks.md explains the scenarios and the figures.
"""
