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
