"""GPU scoring at LLM scale: bf16, sigmoid vs softmax, memory, and 2-GPU data parallelism.

Ready to run where a GPU is lent (nothing is downloaded: the model is built from its
configuration with random weights, which is all speed and memory depend on):

    python -m benchmarks.gpu.bench_gpu                          # 1 GPU, Llama-3.2-1B sizes
    python -m benchmarks.gpu.bench_gpu --size 8b                # Llama-3.1-8B sizes
    torchrun --nproc_per_node 2 -m benchmarks.gpu.bench_gpu --data-parallel   # 2 GPUs

Prints, measured in the same run: seg/s of sigmoid-only and full-softmax scoring and their
ratio, peak GPU memory of each, and (with --data-parallel under torchrun) the seg/s of the
sharded run, to compare with the 1-GPU line of a plain run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]

SIZES = {  # Llama configurations (hidden, layers, heads, kv heads, ffn, vocab)
    "1b": (2048, 16, 32, 8, 8192, 128256),
    "3b": (3072, 28, 24, 8, 8192, 128256),
    "8b": (4096, 32, 32, 8, 14336, 128256),
}
WORDS = ("the a cat dog house city river mountain road car book school teacher student "
         "water fire music friend family morning evening").split()


def build_model(directory: Path, size: str) -> str:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    hidden, layers, heads, kv, ffn, vocab = SIZES[size]
    config = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv, intermediate_size=ffn, vocab_size=vocab,
                         max_position_embeddings=4096, tie_word_embeddings=False,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(directory)
    words = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
    for w in WORDS:
        words.setdefault(w, len(words))
    tok = Tokenizer(models.WordLevel(vocab=words, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                            eos_token="</s>", unk_token="<unk>").save_pretrained(directory)
    del model
    torch.cuda.empty_cache()
    return str(directory)


def pairs(n: int, seed: int = 0):
    import random
    rng = random.Random(seed)
    sentence = lambda: " ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 35)))  # noqa: E731
    return [sentence() for _ in range(n)], [sentence() for _ in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="1b")
    parser.add_argument("--segments", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-parallel", action="store_true",
                        help="under torchrun: shard the segments over the processes")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU")
    from sigmoid_qe import load_model
    from sigmoid_qe.distributed import init_distributed
    from sigmoid_qe.parallel import score_sharded
    context, device = init_distributed("cuda") if args.data_parallel else (None, "cuda")
    with tempfile.TemporaryDirectory() as tmp:
        main_rank = context is None or context.is_main
        model_dir = build_model(Path(tmp) / "llama", args.size) if main_rank else None
        if context is not None and context.active:
            model_dir = context.gather_objects(model_dir)[0]
        qe = load_model(model_dir, device=str(device), precision="bf16", lp="en-de")
        sources, hyps = pairs(args.segments)
        qe.score(sources[:8], hyps[:8], progress=False)
        lines = [f"model: Llama {args.size} sizes, bf16, random weights; {args.segments} segments, "
                 f"batch {args.batch_size}, {torch.cuda.get_device_name()}"]
        rates = {}
        for method in ("sigmoid", "softmax"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            if args.data_parallel:
                score_sharded(qe, sources, hyps, method=method, batch_size=args.batch_size,
                              progress=False)
            else:
                qe.score(sources, hyps, method=method, batch_size=args.batch_size, progress=False)
            torch.cuda.synchronize()
            rates[method] = args.segments / (time.perf_counter() - start)
            peak = torch.cuda.max_memory_allocated() / 2**30
            lines.append(f"{method:8s}: {rates[method]:8.1f} seg/s, peak memory {peak:.1f} GiB")
        lines.append(f"ratio sigmoid/softmax: {rates['sigmoid'] / rates['softmax']:.2f}x")
        if context is None or context.is_main:
            if args.data_parallel:
                lines.append(f"(data-parallel over {context.world_size} processes: compare the "
                             "seg/s with a 1-GPU run)")
            print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
