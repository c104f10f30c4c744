"""Sigmoid-only vs full-softmax scoring speed of the same Hugging Face model, in one run.

The Sigmoid Head needs h . w_y for the observed token only; softmax-based scores need the
whole [tokens, vocab] projection. This prints segments/s for both and their ratio.

    python -m benchmarks.bench_scoring_speed                 # random OPUS-MT-sized Marian
    python -m benchmarks.bench_scoring_speed --model DIR     # any HF model directory

Sentences: the English side of ../shared/data/parallel/en-pt/dev.tsv (FLORES rows), scored
against their Portuguese translations.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch

from sigmoid_qe.files import read_table

ROOT = Path(__file__).resolve().parents[1]

DEV = ROOT.parent / "shared" / "data" / "parallel" / "en-pt" / "dev.tsv"


def load_pairs(n: int):
    if DEV.is_file():
        rows = read_table(DEV).records()
        pairs = [(r["en"], r["pt"]) for r in rows if r["origin"] == "flores"]
    else:  # synthetic fallback so the benchmark still runs without ../shared
        pairs = [(" ".join(["word"] * 25), " ".join(["palavra"] * 28))] * n
    return [p for _, p in zip(range(n), pairs * (n // max(1, len(pairs)) + 1))]


def random_opus_mt(directory: Path, texts) -> str:
    """A randomly initialised Marian model with opus-mt-en-ROMANCE's sizes (speed only), with a
    word-level tokenizer over the benchmark's own words (about one token per word)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast
    torch.manual_seed(0)
    config = MarianConfig(vocab_size=58101, d_model=512, encoder_layers=6, decoder_layers=6,
                          encoder_attention_heads=8, decoder_attention_heads=8,
                          encoder_ffn_dim=2048, decoder_ffn_dim=2048, max_position_embeddings=512,
                          pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    MarianMTModel(config).save_pretrained(directory)
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for text in texts:
        for word in text.split():
            if len(vocab) < config.vocab_size:
                vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>", model_max_length=512).save_pretrained(directory)
    return str(directory)


def _breakdown(qe, sources, hyps, batch_size):
    """(body, projection + softmax) CPU seconds over the same length-sorted batches."""
    from sigmoid_qe.backends.frozen import length_sorted_batches, scored_positions
    from sigmoid_qe.scoring import softmax_stats
    pairs = qe.backend.encode(sources, hyps)
    batches = [[pairs[i] for i in rows]
               for rows in length_sorted_batches([p.cost for p in pairs], batch_size)]
    with torch.inference_mode():
        start = time.process_time()
        positions = [scored_positions(qe.backend, batch) for batch in batches]
        body = time.process_time() - start
        start = time.process_time()
        for p in positions:
            softmax_stats(qe.backend, p.hidden, p.ids, ["softmax"])
        head = time.process_time() - start
    return body, head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--segments", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from sigmoid_qe import load_model
    with tempfile.TemporaryDirectory() as tmp:
        pairs = load_pairs(args.segments)
        sources, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
        model_dir = args.model or random_opus_mt(Path(tmp) / "opus-mt-sized", sources + hyps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qe = load_model(model_dir, device="cpu", lp="en-pt")
        qe.score(sources[:32], hyps[:32], progress=False)  # warm-up
        timings = {}
        breakdown = _breakdown(qe, sources, hyps, args.batch_size)
        for method in ("sigmoid", "softmax"):
            start = time.perf_counter()
            qe.score(sources, hyps, method=method, batch_size=args.batch_size, progress=False)
            timings[method] = len(pairs) / (time.perf_counter() - start)
    print(f"model: {args.model or 'random Marian, opus-mt sizes (vocab 58101, d_model 512, 6+6 layers)'}")
    print(f"segments: {len(pairs)}, batch size {args.batch_size}, threads {torch.get_num_threads()}")
    print(f"sigmoid-only : {timings['sigmoid']:8.1f} seg/s")
    print(f"softmax (full vocab): {timings['softmax']:8.1f} seg/s")
    print(f"ratio sigmoid/softmax: {timings['sigmoid'] / timings['softmax']:.2f}x")
    if breakdown:
        body, head = breakdown
        print(f"where the softmax path's time goes (CPU seconds, same batches): model body "
              f"{body:.2f}s, output projection + softmax {head:.2f}s; the sigmoid "
              f"path skips the second part, so its speed-up is bounded by (body + projection) "
              f"/ body = {(body + head) / body:.2f}x")


if __name__ == "__main__":
    main()
