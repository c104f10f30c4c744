"""PyTorch version of the Bergamot "tiny" student: transformer encoder + SSRU decoder.

Marian's Bergamot students are not Hugging Face models, so the network is rebuilt here from
the tensors of the ``.bin`` file (see :mod:`marian_reader`). The module serves two uses:

* scoring: one teacher-forced pass returns the last hidden state (the input of the output
  layer, which is what a Sigmoid Head multiplies); logits are a separate function so that
  sigmoid-only scoring never pays for the [*, 32000] vocabulary projection;
* translation: greedy search with an incremental decoder state (SSRU cell per layer, cached
  cross-attention keys/values), restricted to the lexical shortlist as the native engine is.

Architecture facts (Marian ``transformer`` with ``transformer-decoder-autoreg: rnn``,
``dec-cell: ssru``, post-norm ``dan``): embeddings are scaled by sqrt(dim) and get a sinusoidal
signal whose sin half and cos half are concatenated; LayerNorm eps 1e-6; decoder step 0 sees a
zero embedding (no BOS token).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelLoadError
from .marian_reader import MarianModelFile

EOS_ID = 0
LN_EPS = 1e-6


@dataclass
class BergamotConfig:
    """Sizes read from the model file (and its embedded model.yml)."""

    vocab_size: int
    dim: int
    heads: int
    ffn_dim: int
    enc_depth: int
    dec_depth: int
    activation: str = "relu"


def linear(x: torch.Tensor, weight, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """``F.linear``, or the int8 GEMM when the weight was quantised (``--precision int8``,
    :mod:`.bergamot_int8`; its bias is packed with it)."""
    if isinstance(weight, torch.Tensor):
        return F.linear(x, weight, bias)
    return weight(x)


def _param(array: np.ndarray) -> nn.Parameter:
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return nn.Parameter(tensor, requires_grad=False)


def _linear_weight(w: np.ndarray) -> np.ndarray:
    """[in, out] (y = x @ W) -> [out, in], the layout ``F.linear`` multiplies fastest."""
    return np.ascontiguousarray(w.T)


def _vec(t: np.ndarray) -> np.ndarray:
    return t.reshape(-1)


def sinusoid_positions(length: int, dim: int, start: int = 0) -> torch.Tensor:
    """Marian's positional signal [length, dim]: sin(p f_i) for the first half, cos after.

    f_i = exp(-i * ln(10000) / (dim/2 - 1)); computed in float64 then rounded, so that it
    does not depend on the device.
    """
    half = dim // 2
    inc = math.log(10000.0) / max(half - 1, 1)
    freqs = torch.exp(-inc * torch.arange(half, dtype=torch.float64))
    pos = torch.arange(start, start + length, dtype=torch.float64)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(pos), torch.cos(pos)], dim=-1).to(torch.float32)


def _activation(name: str):
    """The FFN activation, applied in place (its input is a fresh temporary)."""
    if name == "relu":
        return torch.relu_
    if name == "swish":
        return lambda t: F.silu(t, inplace=True)
    if name == "gelu":
        return F.gelu
    raise ModelLoadError(f"unsupported transformer-ffn-activation {name!r}")


class FeedForward(nn.Module):
    """Post-norm FFN block: LN(x + W2 act(W1 x + b1) + b2)."""

    def __init__(self, model: MarianModelFile, prefix: str, activation: str):
        super().__init__()
        self.w1 = _param(_linear_weight(model.get(prefix + "_W1")))
        self.b1 = _param(_vec(model.get(prefix + "_b1")))
        self.w2 = _param(_linear_weight(model.get(prefix + "_W2")))
        self.b2 = _param(_vec(model.get(prefix + "_b2")))
        self.ln_w = _param(_vec(model.get(prefix + "_ffn_ln_scale")))
        self.ln_b = _param(_vec(model.get(prefix + "_ffn_ln_bias")))
        self.act = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In-place activation and residual: fewer large temporaries on the hot path.
        y = linear(self.act(linear(x, self.w1, self.b1)), self.w2, self.b2)
        y += x
        return F.layer_norm(y, x.shape[-1:], self.ln_w, self.ln_b, LN_EPS)


class EncoderLayer(nn.Module):
    """Self-attention (one fused QKV projection) + FFN, both post-norm."""

    def __init__(self, model: MarianModelFile, index: int, cfg: BergamotConfig):
        super().__init__()
        p = f"encoder_l{index}_self"
        qkv = [model.get(f"{p}_W{k}") for k in "qkv"]
        self.qkv_w = _param(_linear_weight(np.concatenate(qkv, axis=1)))
        self.qkv_b = _param(np.concatenate([_vec(model.get(f"{p}_b{k}")) for k in "qkv"]))
        self.o_w = _param(_linear_weight(model.get(p + "_Wo")))
        self.o_b = _param(_vec(model.get(p + "_bo")))
        self.ln_w = _param(_vec(model.get(p + "_Wo_ln_scale")))
        self.ln_b = _param(_vec(model.get(p + "_Wo_ln_bias")))
        self.ffn = FeedForward(model, f"encoder_l{index}_ffn", cfg.activation)
        self.heads = cfg.heads

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        qkv = linear(x, self.qkv_w, self.qkv_b).view(b, s, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [b, heads, s, head_dim]
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = linear(att.transpose(1, 2).reshape(b, s, d), self.o_w, self.o_b)
        y += x
        return self.ffn(F.layer_norm(y, (d,), self.ln_w, self.ln_b, LN_EPS))


class DecoderLayer(nn.Module):
    """SSRU cell (in place of self-attention), cross-attention, FFN; all post-norm.

    SSRU: f = sigmoid(x Wf + bf); c_t = f c_{t-1} + (1 - f) (x W); out = LN(x + relu(c_t)).
    Its state is one [batch, dim] vector, so incremental decoding costs O(1) per step.
    """

    def __init__(self, model: MarianModelFile, index: int, cfg: BergamotConfig):
        super().__init__()
        r = f"decoder_l{index}_rnn"
        self.rnn_w = _param(
            _linear_weight(np.concatenate([model.get(r + "_W"), model.get(r + "_Wf")], axis=1))
        )
        bf = _vec(model.get(r + "_bf"))
        self.rnn_b = _param(np.concatenate([np.zeros_like(bf), bf]))
        self.rnn_ln_w = _param(_vec(model.get(r + "_ffn_ln_scale")))
        self.rnn_ln_b = _param(_vec(model.get(r + "_ffn_ln_bias")))
        c = f"decoder_l{index}_context"
        self.q_w = _param(_linear_weight(model.get(c + "_Wq")))
        self.q_b = _param(_vec(model.get(c + "_bq")))
        kv = [model.get(c + "_Wk"), model.get(c + "_Wv")]
        self.kv_w = _param(_linear_weight(np.concatenate(kv, axis=1)))
        self.kv_b = _param(np.concatenate([_vec(model.get(c + "_bk")), _vec(model.get(c + "_bv"))]))
        self.o_w = _param(_linear_weight(model.get(c + "_Wo")))
        self.o_b = _param(_vec(model.get(c + "_bo")))
        self.ln_w = _param(_vec(model.get(c + "_Wo_ln_scale")))
        self.ln_b = _param(_vec(model.get(c + "_Wo_ln_bias")))
        self.ffn = FeedForward(model, f"decoder_l{index}_ffn", cfg.activation)
        self.heads = cfg.heads

    # -- pieces shared by the teacher-forced and the incremental paths -------------------
    def gates(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(f, (1 - f) * xW) for any leading shape."""
        g = linear(x, self.rnn_w, self.rnn_b)
        xw, f = g.chunk(2, dim=-1)
        f = torch.sigmoid(f)
        return f, (1.0 - f) * xw

    def memory(self, enc: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention keys and values [batch, heads, src, head_dim], computed once."""
        b, s, d = enc.shape
        kv = linear(enc, self.kv_w, self.kv_b).view(b, s, 2, self.heads, d // self.heads)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)
        return k, v

    def after_cell(
        self, x: torch.Tensor, c: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Everything after the recurrence, for x, c of shape [batch, time, dim]."""
        b, t, d = x.shape
        h = F.layer_norm(torch.relu(c).add_(x), (d,), self.rnn_ln_w, self.rnn_ln_b, LN_EPS)
        q = linear(h, self.q_w, self.q_b).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = linear(att.transpose(1, 2).reshape(b, t, d), self.o_w, self.o_b)
        y += h
        return self.ffn(F.layer_norm(y, (d,), self.ln_w, self.ln_b, LN_EPS))

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor):
        """Teacher-forced pass over x [batch, time, dim]."""
        f, u = self.gates(x)
        # The recurrence is elementwise: a short loop over time of one fused in-place op on
        # [batch, dim] slices, time-major so that every slice is contiguous.
        cells = u.transpose(0, 1).contiguous()  # starts as u_t; becomes c_t in place
        f_t = f.transpose(0, 1).contiguous()
        for t in range(1, cells.shape[0]):
            cells[t].addcmul_(f_t[t], cells[t - 1])
        return self.after_cell(x, cells.transpose(0, 1), k, v, mask)

    def step(
        self, x: torch.Tensor, c_prev: Optional[torch.Tensor], k: torch.Tensor, v: torch.Tensor,
        mask: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """One decoding step for x [batch, dim]; returns (output [batch, dim], new cell)."""
        f, u = self.gates(x)
        c = u if c_prev is None else torch.addcmul(u, f, c_prev)
        out = self.after_cell(x[:, None], c[:, None], k, v, mask)
        return out[:, 0], c


@dataclass
class DecoderState:
    """What greedy decoding carries from one step to the next."""

    cells: List[Optional[torch.Tensor]]
    keys: List[torch.Tensor]
    values: List[torch.Tensor]
    mask: torch.Tensor
    step: int = 0

    def select(self, rows: torch.Tensor) -> DecoderState:
        """Keep only the given batch rows (finished sentences leave the batch)."""
        return DecoderState(
            [None if c is None else c[rows] for c in self.cells],
            [k[rows] for k in self.keys],
            [v[rows] for v in self.values],
            self.mask[rows],
            self.step,
        )


def config_from_model(model: MarianModelFile) -> BergamotConfig:
    """Check the architecture is one this module implements and read its sizes."""
    cfg = model.config
    where = model.path

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise ModelLoadError(f"{where}: unsupported Marian architecture ({what})")

    need(cfg.get("type", "transformer") == "transformer", f"type {cfg.get('type')!r}")
    need(
        cfg.get("transformer-decoder-autoreg", "rnn") == "rnn"
        and cfg.get("dec-cell", "ssru") == "ssru",
        "only the SSRU decoder of Bergamot students is implemented",
    )
    need(cfg.get("transformer-postprocess", "dan") == "dan", "post-processing must be 'dan'")
    need(not cfg.get("transformer-preprocess", ""), "pre-norm models are not implemented")
    need(int(cfg.get("transformer-ffn-depth", 2)) == 2, "FFN depth must be 2")
    emb = model.get("Wemb")
    vocab, dim = emb.shape
    enc_depth = int(cfg.get("enc-depth", 0)) or _count_layers(model, "encoder")
    dec_depth = int(cfg.get("dec-depth", 0)) or _count_layers(model, "decoder")
    heads = int(cfg.get("transformer-heads", 8))
    ffn_dim = model.get("encoder_l1_ffn_W1").shape[1]
    need(dim % heads == 0, f"dim {dim} not divisible by {heads} heads")
    return BergamotConfig(
        vocab_size=vocab, dim=dim, heads=heads, ffn_dim=ffn_dim, enc_depth=enc_depth,
        dec_depth=dec_depth, activation=str(cfg.get("transformer-ffn-activation", "relu")),
    )


def _count_layers(model: MarianModelFile, side: str) -> int:
    n = 0
    while any(name.startswith(f"{side}_l{n + 1}_") for name in model.tensors):
        n += 1
    return n


class BergamotTransformer(nn.Module):
    """The float32 network; all weights frozen (``requires_grad=False``)."""

    def __init__(self, model: MarianModelFile):
        super().__init__()
        self.cfg = config_from_model(model)
        self.emb = _param(model.get("Wemb"))  # [vocab, dim]: source, target and output
        self.out_b = _param(_vec(model.get("decoder_ff_logit_out_b")))
        self.encoder = nn.ModuleList(
            EncoderLayer(model, i + 1, self.cfg) for i in range(self.cfg.enc_depth)
        )
        self.decoder = nn.ModuleList(
            DecoderLayer(model, i + 1, self.cfg) for i in range(self.cfg.dec_depth)
        )
        self.emb_scale = math.sqrt(self.cfg.dim)
        self.register_buffer("pe", sinusoid_positions(512, self.cfg.dim), persistent=False)

    # -- helpers --------------------------------------------------------------------------
    def positions(self, length: int, start: int, like: torch.Tensor) -> torch.Tensor:
        """Positional signal rows [start, start+length) on ``like``'s device and dtype."""
        if start + length > self.pe.shape[0]:
            longer = sinusoid_positions(2 * (start + length), self.cfg.dim)
            self.pe = longer.to(device=self.pe.device, dtype=self.pe.dtype)
        return self.pe[start : start + length].to(device=like.device, dtype=like.dtype)

    @staticmethod
    def attention_mask(src_mask: torch.Tensor) -> torch.Tensor:
        """[batch, src] bool (True = real token) -> [batch, 1, 1, src] for SDPA."""
        return src_mask[:, None, None, :]

    # -- passes ---------------------------------------------------------------------------
    def encode(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """Encoder output [batch, src, dim] for right-padded ids and their bool mask."""
        x = F.embedding(src_ids, self.emb) * self.emb_scale
        x = x + self.positions(src_ids.shape[1], 0, x)
        mask = self.attention_mask(src_mask)
        for layer in self.encoder:
            x = layer(x, mask)
        return x

    def decoder_inputs(self, tgt_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing inputs: a zero vector at step 0, then the scaled previous targets."""
        b, t = tgt_ids.shape
        emb = F.embedding(tgt_ids[:, : t - 1], self.emb) * self.emb_scale
        x = torch.cat([emb.new_zeros(b, 1, self.cfg.dim), emb], dim=1)
        return x + self.positions(t, 0, x)

    def decode(
        self, enc: torch.Tensor, src_mask: torch.Tensor, tgt_ids: torch.Tensor
    ) -> torch.Tensor:
        """Last hidden state [batch, tgt, dim]; position t predicts ``tgt_ids[:, t]``."""
        mask = self.attention_mask(src_mask)
        x = self.decoder_inputs(tgt_ids)
        for layer in self.decoder:
            k, v = layer.memory(enc)
            x = layer(x, k, v, mask)
        return x

    def forward(
        self, src_ids: torch.Tensor, src_mask: torch.Tensor, tgt_ids: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced pass: the input of the output layer at every target position."""
        return self.decode(self.encode(src_ids, src_mask), src_mask, tgt_ids)

    def logits(self, hidden: torch.Tensor, rows: Optional[torch.Tensor] = None) -> torch.Tensor:
        """h @ Wemb^T + b over the full vocabulary, or over the ids in ``rows`` only."""
        if rows is None:
            return F.linear(hidden, self.emb, self.out_b)
        return F.linear(hidden, self.emb[rows], self.out_b[rows])

    # -- incremental decoding ---------------------------------------------------------------
    def start(self, enc: torch.Tensor, src_mask: torch.Tensor) -> DecoderState:
        """Decoder state before step 0: empty cells, cross-attention K/V cached per layer."""
        keys, values = [], []
        for layer in self.decoder:
            k, v = layer.memory(enc)
            keys.append(k)
            values.append(v)
        return DecoderState([None] * len(self.decoder), keys, values,
                            self.attention_mask(src_mask))

    def step(self, state: DecoderState, prev_ids: Optional[torch.Tensor]) -> torch.Tensor:
        """Advance one step (``prev_ids`` None at step 0); returns hidden [batch, dim]."""
        b = state.mask.shape[0]
        if prev_ids is None:
            x = self.emb.new_zeros(b, self.cfg.dim)
        else:
            x = F.embedding(prev_ids, self.emb) * self.emb_scale
        x = x + self.positions(1, state.step, x)
        for i, layer in enumerate(self.decoder):
            x, state.cells[i] = layer.step(
                x, state.cells[i], state.keys[i], state.values[i], state.mask
            )
        state.step += 1
        return x
