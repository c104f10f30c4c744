"""The names of devices and precisions the commands accept (torch-free, so that option
parsing, and ``sigmoid-qe-eval``, start without importing torch). What they mean is decided in
:func:`sigmoid_qe.backends.base.resolve_device` and :func:`~sigmoid_qe.backends.base.resolve_dtype`."""

DEVICES = ("auto", "cpu", "cuda")
#: int8: the Bergamot students' stored int8 weights through int8 GEMMs, on CPU.
PRECISION_NAMES = ("fp32", "bf16", "fp16", "int8")
