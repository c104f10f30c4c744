"""GPU benchmarks (``python -m benchmarks.gpu.bench_gpu`` from the repository root)."""
