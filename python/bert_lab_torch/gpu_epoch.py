"""One training epoch of the homework's heaviest setting, timed: 35,000 reviews with IMDB's token-length
distribution, MAX_LEN 512, batch 8, the notebook's mixed_float16 on CUDA, for a DistilBERT-size and a
BERT-base-size model with random weights, through the engine's own epoch runner (Engine.train_epoch:
dynamic padding, Keras Adam, loss scaling). Prints seconds per epoch. Needs only python3 + torch.

    scripts/gpu-epoch.sh                    # the real measurement (a GPU machine)
    scripts/gpu-epoch.sh --tiny             # a seconds-long check of the script itself, on any CPU
"""
import argparse
import json
import os
import time

import torch

from .bench import config_for, step_flops, synthetic_split
from .model import build_model, init_random_
from .server import device_name, pick_device, pick_precision
from .train import Engine

# Percentiles 0..100 of the length in tokens ([CLS] ... [SEP], bert-base-uncased WordPiece, untruncated)
# of IMDB's training reviews (every 5th of the 25,000 in ../shared/data/imdb/train.jsonl.gz; mean 314,
# 14.6% longer than 512).
IMDB_TOKEN_PERCENTILES = [
    29, 55, 62, 69, 77, 83, 91, 98, 105, 113, 122, 129, 136, 141, 144, 147, 150, 152, 154, 156, 158, 159, 161, 163,
    165, 167, 169, 171, 174, 175, 178, 180, 182, 184, 187, 189, 191, 193, 196, 198, 200, 204, 207, 209, 212, 215, 219,
    223, 226, 229, 233, 237, 241, 244, 247, 251, 256, 260, 264, 269, 275, 280, 285, 292, 298, 304, 310, 318, 327, 335,
    343, 351, 359, 366, 377, 386, 397, 408, 418, 428, 437, 452, 466, 480, 491, 507, 525, 549, 575, 596, 625, 649, 678,
    720, 763, 806, 859, 930, 1052, 1212, 3127,
]


def imdb_lengths(n, max_len, seed):
    """n lengths drawn from the percentile table (linear between percentiles), truncated to max_len."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, generator=g, dtype=torch.float64) * 100
    lo = u.floor().long().clamp(max=99)
    p = torch.tensor(IMDB_TOKEN_PERCENTILES, dtype=torch.float64)
    x = p[lo] + (u - lo) * (p[lo + 1] - p[lo])
    return x.round().long().clamp(2, max_len)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="distilbert-768,bert-base")
    ap.add_argument("--examples", type=int, default=35000)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto", help="auto (mixed_float16 on CUDA, fp32 elsewhere) | fp32 | mixed_float16 | bf16")
    ap.add_argument("--warmup-steps", type=int, default=20)
    ap.add_argument("--tiny", action="store_true", help="a tiny model and 64 examples: checks the script on a CPU in seconds")
    a = ap.parse_args(argv)
    if a.tiny:
        a.models, a.examples, a.warmup_steps = "tiny", min(a.examples, 64), 2
    torch.set_num_threads(os.cpu_count() or 1)
    dev = pick_device(a.device)
    precision = pick_precision(a.precision, dev)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # what Keras/TF does by default on Ampere and later
        torch.backends.cudnn.allow_tf32 = True
    lengths = imdb_lengths(a.examples, a.max_len, 42)
    print(f"device {device_name(dev)}, torch {torch.__version__}, precision {precision}; {a.examples} examples, "
          f"MAX_LEN {a.max_len} (mean length {lengths.float().mean():.0f}, {int((lengths == a.max_len).sum())} truncated), batch {a.batch}", flush=True)
    results = []
    for name in a.models.split(","):
        c = config_for(name, max_positions=max(512, a.max_len))
        torch.manual_seed(0)
        e = Engine(init_random_(build_model(c), 0.02), dev, precision)
        e.splits["train"] = synthetic_split(a.examples, lengths, c.vocab_size)
        e.set_lr(2e-5)
        order = torch.randperm(a.examples, generator=torch.Generator().manual_seed(1)).tolist()
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        e.train_epoch("train", order[: a.warmup_steps * a.batch], a.batch, 0, lambda *x: None)  # kernels, allocator
        sync()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        loss_sum, correct, seen = e.train_epoch("train", order, a.batch, 1, lambda *x: None)
        sync()
        sec = time.perf_counter() - t0
        tokens = int(sum(max(int(lengths[i]) for i in order[k:k + a.batch]) * len(order[k:k + a.batch]) for k in range(0, a.examples, a.batch)))
        r = {"model": name, "secondsPerEpoch": round(sec, 2), "examplesPerSecond": round(seen / sec, 1), "paddedTokens": tokens,
             "meanLoss": round(loss_sum / seen, 4), "device": device_name(dev), "precision": precision, "torch": torch.__version__,
             "peakGpuMiB": round(torch.cuda.max_memory_allocated() / 2**20) if dev.type == "cuda" else None,
             "examples": a.examples, "maxLen": a.max_len, "batch": a.batch}
        results.append(r)
        print(f"{name}: {sec:.1f} s per epoch of {a.examples} examples ({seen / sec:.0f} examples/s)", flush=True)
        print(json.dumps(r), flush=True)
        del e
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
