"""Parity with Hugging Face transformers (fixtures in ../shared/parity), safetensors round trips,
Keras Adam, the epoch runner and the command loop. stdlib unittest + torch only."""
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch  # noqa: E402

from bert_lab_torch.model import ModelConfig, build_model, init_random_, load_weights_, has_zero_gradient  # noqa: E402
from bert_lab_torch.safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from bert_lab_torch.train import Engine, KerasAdam, LossScale, Split, is_oom, parity  # noqa: E402


def shared_dir():
    """../shared next to the repository (the worktree layout), or BERT_LAB_SHARED."""
    env = os.environ.get("BERT_LAB_SHARED")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(HERE))
    for d in (os.path.join(repo, "..", "shared"), os.path.join(repo, "shared")):
        if os.path.isdir(d):
            return os.path.abspath(d)
    return None


SHARED = shared_dir()


def load_json(path):
    with open(path) as f:
        return json.load(f)


def rel_l2(a, b):
    return float((a - b).norm() / b.norm()) if float(b.norm()) > 0 else float((a - b).norm())


class ParityTest(unittest.TestCase):
    def check(self, name):
        if SHARED is None or not os.path.isdir(os.path.join(SHARED, "parity", name)):
            self.skipTest("../shared/parity not found")
        d = os.path.join(SHARED, "parity", name)
        cfg = ModelConfig.from_hf(load_json(os.path.join(d, "config.json")))
        model = build_model(cfg)
        w, _ = read_safetensors(os.path.join(d, "model.safetensors"))
        load_weights_(model, w, d)
        self.assertEqual(set(dict(model.named_parameters())), set(w))  # Hugging Face names, no more, no less
        x = load_json(os.path.join(d, "inputs.json"))
        exp = load_json(os.path.join(d, "expected.json"))
        types = torch.tensor(x["token_type_ids"]) if "token_type_ids" in x else None
        logits, loss, grads = parity(model, torch.tensor(x["input_ids"]), torch.tensor(x["attention_mask"]), torch.tensor(x["labels"]), types)
        self.assertLess(float((logits - torch.tensor(exp["logits"])).abs().max()), 1e-5)
        self.assertLess(abs(float(loss) - exp["loss"]) / abs(exp["loss"]), 1e-5)
        ref, _ = read_safetensors(os.path.join(d, "grads.safetensors"))
        for n, g in grads.items():
            if has_zero_gradient(n):
                self.assertLess(float(g.abs().max()), 1e-6, n)
            else:
                self.assertLess(rel_l2(g, ref[n]), 1e-4, n)

    def test_distilbert(self):
        self.check("distilbert")

    def test_bert(self):
        self.check("bert")


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_and_errors(self):
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "x.safetensors")
            t = {"a": torch.randn(3, 4), "b": torch.arange(5, dtype=torch.int32), "c": torch.randn(2).half(), "e": torch.zeros(0)}
            write_safetensors(f, t, {"format": "pt"})
            back, meta = read_safetensors(f)
            self.assertEqual(meta, {"format": "pt"})
            for k in t:
                self.assertTrue(torch.equal(back[k], t[k]), k)
            with open(f, "r+b") as fh:
                fh.truncate(20)
            with self.assertRaisesRegex(ValueError, "x.safetensors"):
                read_safetensors(f)


class AdamTest(unittest.TestCase):
    def test_keras_update_rule(self):
        x = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
        opt = KerasAdam([x], 0.1)
        g = [0.3, -0.001, 2.0]
        m, v, w = [0.0] * 3, [0.0] * 3, [1.0, -2.0, 0.5]
        for t in range(1, 4):
            opt.step([torch.tensor(g)])
            a = 0.1 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for i in range(3):
                m[i] += (g[i] - m[i]) * 0.1
                v[i] += (g[i] ** 2 - v[i]) * 0.001
                w[i] -= a * m[i] / (math.sqrt(v[i]) + 1e-7)
        for i in range(3):
            self.assertAlmostEqual(float(x[i]), w[i], places=5)

    def test_epsilon_outside_bias_correction_differs_from_torch(self):
        # With tiny gradients the two placements of eps give visibly different steps.
        x1 = torch.nn.Parameter(torch.tensor([1.0]))
        x2 = torch.nn.Parameter(torch.tensor([1.0]))
        KerasAdam([x1], 0.1).step([torch.tensor([1e-7])])
        o = torch.optim.Adam([x2], lr=0.1, eps=1e-7)
        x2.grad = torch.tensor([1e-7])
        o.step()
        self.assertGreater(abs(float(x1) - float(x2)), 1e-3)

    def test_loss_scale_skips_non_finite(self):
        s = LossScale(initial=8.0, growth_interval=2)
        self.assertFalse(s.unscale_and_check([torch.tensor([float("inf")])]))
        self.assertEqual(s.scale, 4.0)
        g = torch.tensor([8.0])
        self.assertTrue(s.unscale_and_check([g]))
        self.assertEqual(float(g), 2.0)


def tiny_engine(seed=0, dropout=0.0):
    cfg = ModelConfig("distilbert", vocab_size=50, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                      max_positions=32, num_labels=3, hidden_dropout=dropout, attention_dropout=dropout, classifier_dropout=dropout)
    torch.manual_seed(seed)
    model = init_random_(build_model(cfg), 0.2)
    return Engine(model, torch.device("cpu"), "fp32")


def toy_split(n, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 12, (n,), generator=g)
    labels = torch.randint(0, 3, (n,), generator=g)
    seqs = [torch.cat([torch.tensor([1]), torch.randint(5, 50, (int(l) - 2,), generator=g) * 0 + 5 + int(lab) * 10 + torch.randint(0, 5, (int(l) - 2,), generator=g), torch.tensor([2])]) for l, lab in zip(lengths, labels)]
    offsets = torch.zeros(n + 1, dtype=torch.long)
    offsets[1:] = torch.cumsum(lengths, 0)
    return Split(labels, offsets, torch.cat(seqs).int())


class EngineTest(unittest.TestCase):
    def test_epochs_learn_and_best_weights_restore(self):
        e = tiny_engine()
        e.splits["train"], e.splits["val"] = toy_split(96, 1), toy_split(30, 2)
        e.set_lr(1e-2)
        before, _ = e.evaluate("val", 7)
        e.keep_best()
        snap = {n: p.detach().clone() for n, p in e.model.named_parameters()}
        steps = []
        for epoch in range(3):
            order = torch.randperm(96, generator=torch.Generator().manual_seed(epoch)).tolist()
            loss_sum, correct, seen = e.train_epoch("train", order, 8, epoch, lambda *a: steps.append(a), interval=0)
            self.assertEqual(seen, 96)
        after, preds = e.evaluate("val", 7)
        self.assertEqual(len(preds), 30)
        self.assertLess(after, before)  # it learns the token -> label rule
        self.assertEqual(steps[-1][0], 12)
        e.restore_best()
        for n, p in e.model.named_parameters():
            self.assertTrue(torch.equal(p, snap[n]), n)

    def test_same_seed_same_epoch_with_dropout(self):
        runs = []
        for _ in range(2):
            e = tiny_engine(dropout=0.1)
            e.splits["train"] = toy_split(32, 1)
            e.set_lr(1e-2)
            runs.append(e.train_epoch("train", list(range(32)), 8, 123, lambda *a: None))
        self.assertEqual(runs[0], runs[1])

    def test_bf16_autocast_trains_with_fp32_master_weights(self):
        e = tiny_engine()
        e.precision = "bf16"
        e.splits["train"] = toy_split(32, 1)
        e.set_lr(1e-2)
        loss_sum, _, seen = e.train_epoch("train", list(range(32)), 8, 1, lambda *a: None)
        self.assertTrue(math.isfinite(loss_sum) and seen == 32)
        self.assertTrue(all(p.dtype == torch.float32 for p in e.model.parameters()))

    def test_loss_scaling_in_the_loop_skips_overflowing_steps(self):
        # The mixed_float16 path's scaling logic, exercised on the CPU: an absurd scale overflows the
        # gradients, so the step is skipped (weights unchanged, Adam's t not advanced) and the scale halves.
        e = tiny_engine()
        e.splits["train"] = toy_split(8, 1)
        e.set_lr(1e-2)
        e.loss_scale = LossScale(initial=1e300)  # loss * scale is inf in float32
        before = [p.detach().clone() for p in e.model.parameters()]
        e.train_epoch("train", list(range(8)), 8, 1, lambda *a: None)
        self.assertEqual(e.optimizer.t, 0)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(before, e.model.parameters())))
        self.assertEqual(e.loss_scale.scale, 5e299)
        e.loss_scale = LossScale(initial=2.0 ** 15)
        ref = tiny_engine()
        ref.splits["train"] = toy_split(8, 1)
        ref.set_lr(1e-2)
        e.train_epoch("train", list(range(8)), 8, 1, lambda *a: None)
        ref.train_epoch("train", list(range(8)), 8, 1, lambda *a: None)
        self.assertEqual(e.optimizer.t, 1)
        for a, b in zip(e.model.parameters(), ref.model.parameters()):
            self.assertLess(float((a - b).abs().max()), 1e-6)  # scaled, unscaled: the same update

    def test_precision_policy(self):
        from bert_lab_torch.server import pick_precision
        self.assertEqual(pick_precision("auto", torch.device("cpu")), "fp32")
        self.assertEqual(pick_precision("auto", torch.device("cuda")), "mixed_float16")
        with self.assertRaisesRegex(ValueError, "mixed_float16 needs a CUDA GPU"):
            pick_precision("mixed_float16", torch.device("cpu"))

    def test_injected_oom_is_recognised(self):
        e = tiny_engine()
        e.splits["train"] = toy_split(32, 1)
        e.set_lr(1e-2)
        e.inject_oom_at = 2
        with self.assertRaises(RuntimeError) as cm:
            e.train_epoch("train", list(range(32)), 8, 1, lambda *a: None)
        self.assertTrue(is_oom(cm.exception))
        self.assertFalse(is_oom(ValueError("shape mismatch")))


class ProcessTest(unittest.TestCase):
    def test_probe_and_exit_on_stdin_close(self):
        env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
        out = subprocess.run([sys.executable, "-m", "bert_lab_torch", "--probe"], env=env, capture_output=True, text=True, timeout=60)
        info = json.loads(out.stdout)
        self.assertEqual(info["torch"], torch.__version__)
        p = subprocess.Popen([sys.executable, "-m", "bert_lab_torch"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.write('{"cmd":"nope"}\n')
        p.stdin.flush()
        line = json.loads(p.stdout.readline())
        self.assertEqual(line["event"], "error")
        self.assertIn("unknown command", line["message"])
        p.stdin.close()
        self.assertEqual(p.wait(timeout=20), 0)


if __name__ == "__main__":
    unittest.main()


class ScriptsTest(unittest.TestCase):
    def test_gpu_epoch_tiny_and_bench(self):
        from bert_lab_torch import bench, gpu_epoch
        lengths = gpu_epoch.imdb_lengths(1000, 512, 1)
        self.assertTrue(200 < float(lengths.float().mean()) < 330)  # IMDB: mean 314 untruncated
        self.assertTrue(0.08 < float((lengths == 512).float().mean()) < 0.22)  # 14.6% longer than 512
        out = io.StringIO()
        from contextlib import redirect_stdout
        with redirect_stdout(out):
            gpu_epoch.main(["--tiny", "--examples", "16", "--max-len", "64"])
            bench.main(["--model", "tiny", "--max-len", "32", "--steps", "1", "--impl", "reference"])
        rows = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
        self.assertEqual(rows[0]["model"], "tiny")
        self.assertGreater(rows[0]["secondsPerEpoch"], 0)
        self.assertEqual(rows[1]["impl"], "reference")
