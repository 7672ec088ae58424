#!/usr/bin/env python3
"""Hugging Face transformers' side of the forward figure in scripts/device-check.sh (issue 28): a
random-weight model of the shape `editlab bench --shape NAME` writes (the same config fields:
src/model/bench.cpp, bench_shape_config), eager attention, in DTYPE on DEVICE, timed over a batch of
BATCH x TOKENS random token ids under torch.inference_mode(): the best of REPEATS forward passes
after one warm-up, each timer read after the device has finished. Prints one JSON line: seconds,
tokens/s, and the peak GPU memory (allocated) of the forward.

    python3 scripts/device_bench_hf.py --shape gpt2-xl|llama-1b [--device cuda] [--dtype bfloat16]
                                       [--batch 16] [--tokens 128] [--repeats 5]

Needs PyTorch and transformers (the GPU machine has both; here the reference venv of
scripts/reference/requirements.txt runs it on the CPU).
"""
import argparse
import json
import time

import torch
import transformers

SHAPES = {
    # the stand-in of device-check.sh --quick (time_rome_reference.py's gpt2-small)
    "gpt2-small": lambda: transformers.GPT2Config(
        n_embd=768, n_layer=12, n_head=12, n_positions=1024, n_ctx=1024, vocab_size=50257,
        activation_function="gelu_new"),
    "gpt2-xl": lambda: transformers.GPT2Config(
        n_embd=1600, n_layer=48, n_head=25, n_positions=1024, n_ctx=1024, vocab_size=50257,
        activation_function="gelu_new"),
    "llama-1b": lambda: transformers.LlamaConfig(
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, head_dim=64, vocab_size=128256, max_position_embeddings=131072,
        rms_norm_eps=1e-5, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 8192},
        hidden_act="silu", tie_word_embeddings=True, bos_token_id=128000, eos_token_id=128001),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bfloat16")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--label", default=None, help="echoed as bench_shape (the row editlab's figure pairs with)")
    args = parser.parse_args()
    device = torch.device(args.device)
    config = SHAPES[args.shape]()
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    start = time.perf_counter()
    with device:  # parameters created on the device, then cast: no host copy of 5-6 GB
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    model = model.to(DTYPES[args.dtype]).eval()
    synchronize(device)
    build_seconds = time.perf_counter() - start
    parameters = sum(p.numel() for p in model.parameters())
    ids = torch.randint(0, config.vocab_size, (args.batch, args.tokens), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    with torch.inference_mode():
        model(input_ids=ids)  # warm-up
        synchronize(device)
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            model(input_ids=ids)
            synchronize(device)
            best = min(best, time.perf_counter() - start)
    result = {"side": "hf", "transformers": transformers.__version__, "torch": torch.__version__,
              "shape": args.shape, "bench_shape": args.label or args.shape, "device": str(device), "dtype": args.dtype, "batch": args.batch,
              "tokens": args.tokens, "parameters": parameters, "build_seconds": build_seconds,
              "forward_seconds": best, "tokens_per_second": args.batch * args.tokens / best}
    if device.type == "cuda":
        result["gpu_name"] = torch.cuda.get_device_name(device)
        result["peak_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
        result["weights_and_before_bytes"] = before
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
