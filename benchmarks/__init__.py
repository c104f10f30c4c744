"""The benchmark harness: scripts that measure the package and write RESULTS.md.

A package so that its modules import each other by name (``benchmarks.qe_bench_common``); run a
benchmark from the repository root as ``python -m benchmarks.bench_NAME``, so that this
checkout's ``sigmoid_qe`` is the one measured.
"""
