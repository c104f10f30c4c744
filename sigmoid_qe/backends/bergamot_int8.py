"""int8 inference for the Bergamot students on CPU (``--precision int8``).

The students are stored with int8 weights (Marian's ``intgemm8``: value = int8 / multiplier,
one multiplier per tensor). Here every linear layer of the network is rebuilt from exactly those
integers, as a per-output-row quantised weight (a fused projection such as Q|K|V keeps each
part's own scale), and runs through PyTorch's dynamic int8 GEMM (fbgemm/onednn): activations
are quantised per call to uint8, products accumulate in int32. Embeddings, the output layer
and layer norms stay float32, so the token scores a head multiplies come from float logits.
A weight whose scale cannot be recovered (a float tensor in the file) is quantised with its
row's max |value| / 127, as dynamic quantisation does.
"""
from __future__ import annotations

import warnings
from typing import Iterable, Optional

import numpy as np
import torch
from torch import nn


class Int8Linear:
    """y = x W^T + b with W as packed int8 rows; called like ``F.linear(x, W, b)``."""

    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor], scales: torch.Tensor):
        with warnings.catch_warnings():  # quantised tensors are deprecated, still the CPU int8 GEMM
            warnings.simplefilter("ignore", UserWarning)
            zero = torch.zeros(weight.shape[0], dtype=torch.long)
            quantised = torch.quantize_per_channel(weight.float(), scales.double(), zero, 0,
                                                   torch.qint8)
            self.packed = torch.ops.quantized.linear_prepack(quantised, bias)
        self.shape = tuple(weight.shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x.contiguous(), self.packed)


def row_scales(weight: np.ndarray, multipliers: Iterable[float]) -> np.ndarray:
    """Per row [out, in] the scale s with weight = s * int8 exactly, found among the file's
    ``1 / multiplier`` values; rows that match none get max |row| / 127."""
    scales = np.abs(weight).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    found = np.zeros(weight.shape[0], dtype=bool)
    for multiplier in sorted(set(multipliers)):
        scaled = weight.astype(np.float64) * multiplier
        exact = (np.abs(scaled - np.round(scaled)).max(axis=1) < 1e-3) \
            & (np.abs(np.round(scaled)).max(axis=1) <= 127)
        new = exact & ~found
        scales[new] = 1.0 / multiplier
        found |= new
    return scales


#: (weight, bias) attribute pairs of the layers that are linear projections.
LINEAR_PAIRS = (("w1", "b1"), ("w2", "b2"), ("qkv_w", "qkv_b"), ("o_w", "o_b"),
                ("rnn_w", "rnn_b"), ("q_w", "q_b"), ("kv_w", "kv_b"))


def quantize_linear_layers(net: nn.Module, multipliers: Iterable[float]) -> int:
    """Replace every linear weight of ``net`` (on CPU) by an :class:`Int8Linear`; returns how
    many were replaced."""
    multipliers = list(multipliers)
    count = 0
    for module in net.modules():
        for weight_name, bias_name in LINEAR_PAIRS:
            weight = module._parameters.get(weight_name)
            if weight is None:
                continue
            bias = module._parameters.get(bias_name)
            scales = torch.from_numpy(row_scales(weight.detach().numpy(), multipliers))
            packed = Int8Linear(weight.detach(), None if bias is None else bias.detach().float(),
                                scales)
            del module._parameters[weight_name]
            object.__setattr__(module, weight_name, packed)
            count += 1
    return count
