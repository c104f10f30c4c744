"""Tiny random Hugging Face models with a word-level tokenizer, built on the spot (no downloads)."""
from __future__ import annotations

from pathlib import Path

import torch

WORDS = ("the a cat dog sat on mat house is big small red blue green runs eats fish bird tree "
         "o um gato cao sentou no tapete casa grande pequeno vermelho azul verde corre come peixe "
         "passaro arvore und der die das ist ein eine hund katze haus").split()


def _word_tokenizer(with_eos_postprocessor: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, "<s>": 3}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if with_eos_postprocessor:
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    else:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", bos_token="<s>", model_max_length=64)


def make_tiny_marian(directory, seed: int = 0) -> str:
    """A 1-layer MarianMTModel (random weights, random final_logits_bias) saved to ``directory``."""
    from transformers import MarianConfig, MarianMTModel
    torch.manual_seed(seed)
    tokenizer = _word_tokenizer(with_eos_postprocessor=True)
    config = MarianConfig(vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=0,
                          eos_token_id=1, decoder_start_token_id=0, forced_eos_token_id=1,
                          bos_token_id=3)
    model = MarianMTModel(config)
    with torch.no_grad():
        model.final_logits_bias.normal_(0, 0.5)
    path = Path(directory)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def make_tiny_llama(directory, seed: int = 0) -> str:
    """A 2-layer LlamaForCausalLM with untied output embedding saved to ``directory``."""
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    tokenizer = _word_tokenizer(with_eos_postprocessor=False)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=128, pad_token_id=0, eos_token_id=1,
                         bos_token_id=3, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    path = Path(directory)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def make_tiny_m2m100(directory, seed: int = 0) -> str:
    """A 1-layer M2M100 model with a real (tiny, word-model) SentencePiece tokenizer, so that
    language codes and the forced target-language BOS behave as in the real models."""
    import json

    import sentencepiece as spm
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer
    torch.manual_seed(seed)
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    words = WORDS[:24]
    corpus = path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(words[i:] + words[:i]) for i in range(len(words))) * 5)
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(path / "spm"), vocab_size=26,
                                   model_type="word", bos_id=-1, eos_id=-1, unk_id=0, pad_id=-1,
                                   minloglevel=2)
    processor = spm.SentencePieceProcessor(model_file=str(path / "spm.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(i), len(vocab))
    (path / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = M2M100Tokenizer(vocab_file=str(path / "vocab.json"), spm_file=str(path / "spm.model"),
                                src_lang="en", tgt_lang="pt")
    size = max([*tokenizer.get_vocab().values(), *tokenizer.lang_token_to_id.values()]) + 1
    config = M2M100Config(vocab_size=size, d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=1,
                          eos_token_id=2, bos_token_id=0, decoder_start_token_id=2)
    M2M100ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    for name in ("corpus.txt", "spm.model", "spm.vocab"):
        (path / name).unlink()
    return str(path)


def make_tiny_bergamot_net(vocab: int = 6, dim: int = 8, ffn: int = 16, heads: int = 2,
                           seed: int = 0):
    """A random 1+1-layer Bergamot student (transformer encoder, SSRU decoder) in memory,
    built from a Marian tensor dict as the real ``.bin`` files give it."""
    import numpy as np

    from sigmoid_qe.backends.bergamot_model import BergamotTransformer
    from sigmoid_qe.backends.marian_reader import MarianModelFile
    rng = np.random.default_rng(seed)
    shapes = {"Wemb": (vocab, dim), "decoder_ff_logit_out_b": (1, vocab)}
    attention = {"Wk": (dim, dim), "Wo": (dim, dim), "Wq": (dim, dim), "Wv": (dim, dim),
                 "bk": (1, dim), "bo": (1, dim), "bq": (1, dim), "bv": (1, dim),
                 "Wo_ln_bias": (1, dim), "Wo_ln_scale": (1, dim)}
    feed_forward = {"W1": (dim, ffn), "W2": (ffn, dim), "b1": (1, ffn), "b2": (1, dim),
                    "ffn_ln_bias": (1, dim), "ffn_ln_scale": (1, dim)}
    rnn = {"W": (dim, dim), "Wf": (dim, dim), "bf": (1, dim), "ffn_ln_bias": (1, dim),
           "ffn_ln_scale": (1, dim)}
    for side, blocks in (("encoder", {"self": attention, "ffn": feed_forward}),
                         ("decoder", {"context": attention, "ffn": feed_forward, "rnn": rnn})):
        for block, names in blocks.items():
            for name, shape in names.items():
                shapes[f"{side}_l1_{block}_{name}"] = shape
    tensors = {}
    for name, shape in shapes.items():
        if name.endswith("_scale"):
            tensors[name] = np.ones(shape, dtype=np.float32)
        else:
            tensors[name] = rng.normal(0, 1.0 if name == "Wemb" else 0.5, shape).astype(np.float32)
    config = {"type": "transformer", "enc-depth": 1, "dec-depth": 1, "transformer-heads": heads,
              "transformer-dim-ffn": ffn, "transformer-ffn-activation": "relu"}
    return BergamotTransformer(MarianModelFile("tiny.bin", 1, tensors, config, "0" * 64))
