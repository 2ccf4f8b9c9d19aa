"""Training arithmetic of the PyTorch engine: Keras 3 Adam, mixed precision with dynamic loss scaling
(Keras' LossScaleOptimizer), one epoch in the order TypeScript gives, evaluation, best weights."""
import math
import time

import torch
import torch.nn.functional as F

HAS_FOREACH = all(hasattr(torch, n) for n in ("_foreach_mul_", "_foreach_add_", "_foreach_sqrt", "_foreach_addcdiv_", "_foreach_addcmul_"))


class KerasAdam:
    """Adam exactly as Keras 3 (keras/src/optimizers/adam.py; src/engine/adam.ts):
        m <- m + (g - m)(1 - b1);  v <- v + (g^2 - v)(1 - b2)
        w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    eps is added to sqrt(v), not to the bias-corrected sqrt(v_hat) (torch.optim.Adam does the latter)."""

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-7):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self, grads=None):
        """One update from the params' .grad (or the given list, same order); None grads are skipped."""
        grads = grads if grads is not None else [p.grad for p in self.params]
        idx = [i for i, g in enumerate(grads) if g is not None]
        if not idx:
            return
        self.t += 1
        f32 = lambda x: float(torch.tensor(x, dtype=torch.float32))  # Keras computes the powers in float32
        b1p, b2p = f32(f32(self.beta1) ** self.t), f32(f32(self.beta2) ** self.t)
        alpha = f32(self.lr * math.sqrt(1 - b2p) / (1 - b1p))
        ps = [self.params[i] for i in idx]
        gs = [grads[i] for i in idx]
        ms = [self.m[i] for i in idx]
        vs = [self.v[i] for i in idx]
        if HAS_FOREACH:
            # In place, one temporary list (sqrt(v)): m + (g - m)(1 - b1) is lerp; v as b2 v + (1 - b2) g g
            # (the same value up to rounding, without a g^2 temporary the size of the model).
            if hasattr(torch, "_foreach_lerp_"):
                torch._foreach_lerp_(ms, gs, 1 - self.beta1)
            else:
                for m, g in zip(ms, gs):
                    m.lerp_(g, 1 - self.beta1)
            torch._foreach_mul_(vs, self.beta2)
            torch._foreach_addcmul_(vs, gs, gs, value=1 - self.beta2)
            den = torch._foreach_sqrt(vs)
            torch._foreach_add_(den, self.eps)
            torch._foreach_addcdiv_(ps, ms, den, value=-alpha)
        else:
            for p, g, m, v in zip(ps, gs, ms, vs):
                m.add_(g - m, alpha=1 - self.beta1)
                v.add_(g * g - v, alpha=1 - self.beta2)
                p.addcdiv_(m, v.sqrt().add_(self.eps), value=-alpha)


class LossScale:
    """Keras' LossScaleOptimizer (dynamic): initial scale 2^15; a step with non-finite gradients is
    skipped and halves the scale; 2000 finite steps in a row double it."""

    def __init__(self, initial=2.0 ** 15, growth_interval=2000):
        self.scale, self.growth_interval, self.good = initial, growth_interval, 0

    def unscale_and_check(self, grads):
        """Divides the gradients by the scale in place; True when they are all finite."""
        live = [g for g in grads if g is not None]
        if not live:
            return True
        inv = 1.0 / self.scale
        if live[0].is_cuda and hasattr(torch, "_amp_foreach_non_finite_check_and_unscale_"):
            found = torch.zeros(1, device=live[0].device)
            torch._amp_foreach_non_finite_check_and_unscale_(live, found, torch.full((1,), inv, device=live[0].device))
            ok = found.item() == 0
        else:
            for g in live:
                g.mul_(inv)
            ok = bool(torch.stack([torch.isfinite(g).all() for g in live]).all())
        if ok:
            self.good += 1
            if self.good >= self.growth_interval:
                self.scale *= 2
                self.good = 0
        else:
            self.scale = max(1.0, self.scale / 2)
            self.good = 0
        return ok


def cross_entropy_sum(logits, labels):
    """Sum over the batch of the cross-entropy of the logits (in float32 whatever the compute dtype)."""
    return F.cross_entropy(logits.float(), labels, reduction="sum")


def is_oom(err):
    """CUDA/MPS/CPU allocator failures: torch.cuda.OutOfMemoryError (2.x) or the RuntimeError text."""
    name = type(err).__name__
    msg = str(err)
    return name == "OutOfMemoryError" or "out of memory" in msg.lower() or "MPS backend out of memory" in msg \
        or "DefaultCPUAllocator: can't allocate memory" in msg


class Split:
    """A split's token ids as read from the binary file TypeScript wrote (see read_split)."""

    def __init__(self, labels, offsets, tokens):
        self.labels, self.offsets, self.tokens = labels, offsets, tokens
        self.n = labels.shape[0]
        self.lengths = (offsets[1:] - offsets[:-1])


def read_split(path):
    """int32 little-endian: n, labels[n], offsets[n+1], tokens[offsets[n]]."""
    import os
    import ctypes
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = torch.empty(size // 4, dtype=torch.int32)
        f.readinto((ctypes.c_char * (raw.numel() * 4)).from_address(raw.data_ptr()))
    n = int(raw[0])
    if n < 0 or 1 + 2 * n + 1 > raw.numel():
        raise ValueError(f"{path}: not a token-id file (count {n})")
    labels = raw[1:1 + n].long()
    offsets = raw[1 + n:2 + 2 * n].long()
    tokens = raw[2 + 2 * n:]
    if int(offsets[-1]) != tokens.numel() or int(offsets[0]) != 0:
        raise ValueError(f"{path}: token-id file offsets do not match its length")
    return Split(labels, offsets, tokens)


class Engine:
    def __init__(self, model, device, precision, log=None):
        self.model = model.to(device)
        self.device = device
        self.precision = precision  # 'fp32' | 'mixed_float16' | 'bf16'
        self.splits = {}
        self.pad_id = model.config.pad_token_id
        self.optimizer = None
        self.loss_scale = LossScale() if precision == "mixed_float16" else None
        self.best = None
        self.log = log or (lambda *_: None)
        self.inject_oom_at = None  # tests: raise an out-of-memory at this (1-based) training step
        self.inject_oom_above = None  # tests: ... at every batch larger than this
        # Loss sums in float64 on the device (one read-back per progress message); MPS has no float64.
        self.acc_dtype = torch.float32 if self.device.type == "mps" else torch.float64

    def autocast(self):
        if self.precision == "fp32":
            return _null()
        dt = torch.float16 if self.precision == "mixed_float16" else torch.bfloat16
        return torch.autocast(device_type=self.device.type, dtype=dt)

    def batch(self, split, idx):
        """Dynamic padding: the batch is padded to its longest sequence."""
        s = self.splits[split]
        seqs = [s.tokens[int(s.offsets[i]):int(s.offsets[i + 1])] for i in idx]
        t = max(1, max(int(x.numel()) for x in seqs))
        ids = torch.full((len(seqs), t), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), t), dtype=torch.long)
        for r, x in enumerate(seqs):
            ids[r, :x.numel()] = x
            mask[r, :x.numel()] = 1
        labels = s.labels[idx]
        if bool(mask.all()):
            mask = None  # no padding in this batch: attention needs no mask (checked here, on the CPU)
        nb = self.device.type == "cuda"
        move = lambda t: None if t is None else (t.pin_memory() if nb else t).to(self.device, non_blocking=nb)
        return move(ids), move(mask), move(labels)

    def set_lr(self, lr):
        if self.optimizer is None:
            self.optimizer = KerasAdam(self.model.parameters(), lr)
        self.optimizer.lr = lr

    def train_epoch(self, split, order, batch_size, seed, emit, cancelled=lambda: False, interval=0.2):
        """One epoch over `order` in batches of batch_size. emit(step, steps, loss_sum, correct, seen)
        at most every `interval` seconds and after the last step. Returns (loss_sum, correct, seen)."""
        self.model.train()
        torch.manual_seed(seed)  # the dropout masks of this epoch (all devices)
        params = self.optimizer.params
        order = torch.as_tensor(order, dtype=torch.long)
        steps = (order.numel() + batch_size - 1) // batch_size
        loss_sum = torch.zeros((), dtype=self.acc_dtype, device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        seen, last = 0, time.monotonic()
        for step in range(1, steps + 1):
            if cancelled():
                raise KeyboardInterrupt
            idx = order[(step - 1) * batch_size: step * batch_size]
            if (self.inject_oom_at is not None and step == self.inject_oom_at) or \
                    (self.inject_oom_above is not None and batch_size > self.inject_oom_above):
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (injected by a test)")
            ids, mask, labels = self.batch(split, idx)
            for p in params:
                p.grad = None
            with self.autocast():
                logits = self.model(ids, mask)
            ce = cross_entropy_sum(logits, labels)
            loss = ce / idx.numel()
            if self.loss_scale is not None:
                (loss * self.loss_scale.scale).backward()
                if self.loss_scale.unscale_and_check([p.grad for p in params]):
                    self.optimizer.step()
            else:
                loss.backward()
                self.optimizer.step()
            with torch.no_grad():
                loss_sum += ce.detach().to(self.acc_dtype)
                correct += (logits.detach().argmax(-1) == labels).sum()
            seen += idx.numel()
            now = time.monotonic()
            if now - last >= interval or step == steps:
                last = now
                emit(step, steps, float(loss_sum), int(correct), seen)
        return float(loss_sum), int(correct), seen

    @torch.no_grad()
    def evaluate(self, split, batch_size, emit=lambda *a: None, cancelled=lambda: False, interval=0.2, logits_out=None):
        """Inference mode (no dropout). Returns (loss_sum, predictions list) in split order; appends the
        float32 logits to `logits_out` when given."""
        self.model.eval()
        s = self.splits[split]
        steps = (s.n + batch_size - 1) // batch_size
        loss_sum = torch.zeros((), dtype=self.acc_dtype, device=self.device)
        preds = []
        last = time.monotonic()
        for step in range(1, steps + 1):
            if cancelled():
                raise KeyboardInterrupt
            idx = torch.arange((step - 1) * batch_size, min(s.n, step * batch_size))
            ids, mask, labels = self.batch(split, idx)
            with self.autocast():
                logits = self.model(ids, mask)
            loss_sum += cross_entropy_sum(logits, labels).to(self.acc_dtype)
            preds.append(logits.argmax(-1))
            if logits_out is not None:
                logits_out.append(logits.float())
            now = time.monotonic()
            if now - last >= interval or step == steps:
                last = now
                emit(step, steps)
        p = torch.cat(preds).cpu().tolist() if preds else []
        return float(loss_sum), p

    @torch.no_grad()
    def keep_best(self):
        """A copy of the weights on the device (Keras' EarlyStopping best_weights)."""
        if self.best is None:
            self.best = [p.detach().clone() for p in self.model.parameters()]
        else:
            for b, p in zip(self.best, self.model.parameters()):
                b.copy_(p)

    @torch.no_grad()
    def restore_best(self):
        if self.best is None:
            return False
        for b, p in zip(self.best, self.model.parameters()):
            p.copy_(b)
        return True

    def state_dict_fp32(self):
        return {n: p.detach().float().cpu() for n, p in self.model.named_parameters()}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def parity(model, ids, mask, labels, types=None):
    """Logits, mean cross-entropy and the gradient of every parameter (eval mode, fp32)."""
    model.eval()
    for p in model.parameters():
        p.grad = None
    logits = model(ids, mask, types)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return logits.detach(), loss.detach(), {n: p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for n, p in model.named_parameters()}
