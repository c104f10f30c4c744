"""Scripts that make the shipped heads (train, choose the scoring on dev, calibrate spans).

Run them from the repository root as ``python -m scripts.NAME``; they import the benchmark
harness as ``benchmarks.*``.
"""
