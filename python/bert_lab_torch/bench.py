"""Training-step throughput of the PyTorch engine (and of a plain-torch reference) on random weights and
random full-length sequences: `python -m bert_lab_torch.bench --model distilbert-768 --max-len 128`.
Prints one JSON line. Used by scripts/bench.ts (torch rows) and scripts/gpu-epoch.sh.

--impl engine:    this package's model + KerasAdam + Engine.train_epoch (what a run executes).
--impl reference: a few lines of plain PyTorch as one would write them without this package:
                  nn.TransformerEncoder (post-LN, GELU) + torch.optim.Adam, the usual zero_grad /
                  forward / cross_entropy / backward / step loop, fp32."""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import ModelConfig, build_model, init_random_
from .train import Engine, Split

SIZES = {
    "tiny": dict(hidden_size=128, num_layers=2, num_heads=2, intermediate_size=512),
    "distilbert-768": dict(hidden_size=768, num_layers=6, num_heads=12, intermediate_size=3072),
    "bert-base": dict(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072),
}


def config_for(name, max_positions=512):
    kind = "bert" if name == "bert-base" else "distilbert"
    return ModelConfig(kind, vocab_size=30522, max_positions=max_positions, type_vocab_size=2 if kind == "bert" else 0, **SIZES[name])


def step_flops(c, b, t):
    """The same analytic count as scripts/bench.ts stepFlops (matmul FLOPs x3 + 10 per parameter)."""
    h, l, i, n = c.hidden_size, c.num_layers, c.intermediate_size, c.num_labels
    forward = l * (8 * b * t * h * h + 4 * b * t * t * h + 4 * b * t * h * i) + 2 * b * h * h + 2 * b * h * n
    params = c.vocab_size * h + c.max_positions * h + 2 * h + l * (4 * (h * h + h) + 2 * h * i + i + h + 4 * h) + h * h + h + n * h + n
    return 3 * forward + 10 * params


def synthetic_split(n, lengths, vocab, seed=1):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    offsets = torch.zeros(n + 1, dtype=torch.long)
    offsets[1:] = torch.cumsum(lengths, 0)
    tokens = torch.randint(1000, vocab, (int(offsets[-1]),), generator=g, dtype=torch.int32)
    return Split(torch.arange(n) % 2, offsets, tokens)


class Reference(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = nn.Embedding(c.vocab_size, c.hidden_size)
        self.pos = nn.Embedding(c.max_positions, c.hidden_size)
        self.ln = nn.LayerNorm(c.hidden_size, eps=1e-12)
        layer = nn.TransformerEncoderLayer(c.hidden_size, c.num_heads, c.intermediate_size, dropout=0.1, activation="gelu", batch_first=True)
        self.enc = nn.TransformerEncoder(layer, c.num_layers, enable_nested_tensor=False) if "enable_nested_tensor" in nn.TransformerEncoder.__init__.__code__.co_varnames else nn.TransformerEncoder(layer, c.num_layers)
        self.pre = nn.Linear(c.hidden_size, c.hidden_size)
        self.cls = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, ids, mask):
        x = self.ln(self.emb(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))[None])
        x = self.enc(x, src_key_padding_mask=mask == 0)
        return self.cls(F.dropout(F.relu(self.pre(x[:, 0])), 0.2, self.training))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--impl", default="engine", choices=["engine", "reference"])
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("BERT_LAB_TORCH_THREADS") or os.cpu_count() or 1))
    torch.manual_seed(0)
    c = config_for(a.model)
    dev = torch.device(a.device)
    n = a.batch * (a.steps + a.warmup)
    split = synthetic_split(n, [a.max_len] * n, c.vocab_size)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if a.impl == "engine":
        e = Engine(init_random_(build_model(c), 0.02), dev, a.precision)
        e.splits["train"] = split
        e.set_lr(2e-5)
        order = list(range(n))
        if a.warmup:
            e.train_epoch("train", order[: a.batch * a.warmup], a.batch, 1, lambda *x: None)
        sync()
        t0 = time.perf_counter()
        e.train_epoch("train", order[a.batch * a.warmup:], a.batch, 2, lambda *x: None)
        sync()
    else:
        m = Reference(c).to(dev).train()
        opt = torch.optim.Adam(m.parameters(), lr=2e-5, eps=1e-7)
        ids = split.tokens.long().view(n, a.max_len).to(dev)
        mask = torch.ones_like(ids)
        labels = split.labels.to(dev)

        def step(k):
            sl = slice(k * a.batch, (k + 1) * a.batch)
            opt.zero_grad()
            loss = F.cross_entropy(m(ids[sl], mask[sl]), labels[sl])
            loss.backward()
            opt.step()
            loss.item()

        for k in range(a.warmup):
            step(k)
        sync()
        t0 = time.perf_counter()
        for k in range(a.warmup, a.warmup + a.steps):
            step(k)
        sync()
    sec = (time.perf_counter() - t0) / a.steps
    dev_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(json.dumps({
        "impl": a.impl, "model": a.model, "maxLen": a.max_len, "batch": a.batch, "steps": a.steps, "warmup": a.warmup,
        "secondsPerStep": sec, "examplesPerSecond": a.batch / sec, "gflops": step_flops(c, a.batch, a.max_len) / sec / 1e9,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "device": dev_name, "torch": torch.__version__,
        "precision": a.precision,
    }))


if __name__ == "__main__":
    sys.exit(main())
