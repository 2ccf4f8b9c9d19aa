"""The command loop's handlers (see protocol.py)."""
import json
import os
import time

import torch

from .model import ModelConfig, build_model, load_weights_
from .safetensors_io import read_safetensors, write_safetensors
from .train import Engine, is_oom, parity, read_split


def pick_device(want):
    """'auto': CUDA, then MPS, then CPU. A forced device that is missing is an error."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if want in ("auto", None):
        want = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"torch {torch.__version__} sees no CUDA GPU (a CPU-only build, or no driver)")
    if want == "mps" and not has_mps:
        raise ValueError(f"torch {torch.__version__} has no usable Apple MPS device")
    if want not in ("cuda", "mps", "cpu"):
        raise ValueError(f"unknown device {want!r}")
    return torch.device(want)


def pick_precision(want, device):
    """'auto': the notebook's mixed_float16 on CUDA, float32 elsewhere."""
    if want in ("auto", None):
        return "mixed_float16" if device.type == "cuda" else "fp32"
    if want not in ("fp32", "mixed_float16", "bf16"):
        raise ValueError(f"unknown precision {want!r} (fp32, mixed_float16 or bf16)")
    if want != "fp32" and device.type == "cpu" and want == "mixed_float16":
        raise ValueError("mixed_float16 needs a CUDA GPU (use fp32 or bf16 on the CPU)")
    return want


def device_name(device):
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    import platform
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"


class Server:
    def __init__(self, send, cancel):
        self.send, self.cancel = send, cancel
        self.engine = None
        if os.environ.get("BERT_LAB_TORCH_THREADS"):
            torch.set_num_threads(int(os.environ["BERT_LAB_TORCH_THREADS"]))
        else:
            torch.set_num_threads(os.cpu_count() or 1)  # threads = cores

    def handle(self, m):
        self.cancel.clear()
        try:
            getattr(self, "cmd_" + str(m.get("cmd")), self.unknown)(m)
        except KeyboardInterrupt:
            self.send({"event": "error", "message": "cancelled", "cancelled": True, "oom": False})
        except Exception as e:  # every failure becomes one message; the process stays usable
            msg = f"{type(e).__name__}: {e}".split("\n")[0] if not isinstance(e, ValueError) else str(e).split("\n")[0]
            self.send({"event": "error", "message": msg, "oom": is_oom(e)})
            if is_oom(e) and torch.cuda.is_available():
                torch.cuda.empty_cache()

    def unknown(self, m):
        raise ValueError(f"unknown command {m.get('cmd')!r}")

    def cmd_load(self, m):
        config = ModelConfig.from_ts(m["config"])
        device = pick_device(m.get("device"))
        precision = pick_precision(m.get("precision"), device)
        if device.type == "cuda":
            # TensorFlow (the notebook's Keras) runs float32 matmuls in TF32 on Ampere and later; so do we.
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model = build_model(config)
        tensors, _ = read_safetensors(m["weights"])
        load_weights_(model, tensors, m["weights"])
        del tensors
        self.engine = Engine(model, device, precision)
        if os.environ.get("BERT_LAB_TORCH_INJECT_OOM"):
            self.engine.inject_oom_at = int(os.environ["BERT_LAB_TORCH_INJECT_OOM"])
        if os.environ.get("BERT_LAB_TORCH_INJECT_OOM_ABOVE"):
            self.engine.inject_oom_above = int(os.environ["BERT_LAB_TORCH_INJECT_OOM_ABOVE"])
        self.send({"event": "loaded", "device": device.type, "deviceName": device_name(device), "torch": torch.__version__,
                   "precision": precision, "threads": torch.get_num_threads()})

    def cmd_data(self, m):
        self.engine.splits[m["split"]] = read_split(m["file"])
        self.send({"event": "ok"})

    def cmd_trainEpoch(self, m):
        e = self.engine
        e.set_lr(float(m["lr"]))
        t0 = time.monotonic()
        emit = lambda step, steps, loss_sum, correct, seen: self.send(
            {"event": "step", "step": step, "steps": steps, "lossSum": loss_sum, "correct": correct, "seen": seen})
        loss_sum, correct, seen = e.train_epoch(m["split"], m["order"], int(m["batchSize"]), int(m["seed"]), emit, self.cancel.is_set)
        self.send({"event": "epochDone", "lossSum": loss_sum, "correct": correct, "seen": seen, "seconds": time.monotonic() - t0})

    def cmd_evaluate(self, m):
        emit = lambda step, steps: self.send({"event": "evalStep", "step": step, "steps": steps})
        logits = [] if m.get("logits") else None
        loss_sum, preds = self.engine.evaluate(m["split"], int(m["batchSize"]), emit, self.cancel.is_set, logits_out=logits)
        out = {"event": "evaluated", "lossSum": loss_sum, "predictions": preds}
        if logits is not None:
            out["logits"] = torch.cat(logits).cpu().tolist() if logits else []
        self.send(out)

    def cmd_keepBest(self, m):
        self.engine.keep_best()
        self.send({"event": "ok"})

    def cmd_restoreBest(self, m):
        self.engine.restore_best()
        self.send({"event": "ok"})

    def cmd_save(self, m):
        write_safetensors(m["file"], self.engine.state_dict_fp32(), {"format": "pt"})
        self.send({"event": "ok"})

    def cmd_parity(self, m):
        config = ModelConfig.from_ts(m["config"])
        model = build_model(config)
        tensors, _ = read_safetensors(m["weights"])
        load_weights_(model, tensors, m["weights"])
        x = m["inputs"]
        ids = torch.tensor(x["input_ids"], dtype=torch.long)
        mask = torch.tensor(x["attention_mask"], dtype=torch.long)
        types = torch.tensor(x["token_type_ids"], dtype=torch.long) if x.get("token_type_ids") else None
        labels = torch.tensor(x["labels"], dtype=torch.long)
        logits, loss, grads = parity(model, ids, mask, labels, types)
        out = {"logits": logits, "loss": loss.reshape(1)}
        out.update({"grad." + n: g for n, g in grads.items()})
        write_safetensors(m["out"], out)
        self.send({"event": "parity"})
