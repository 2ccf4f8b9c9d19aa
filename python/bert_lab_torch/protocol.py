"""Mirror of src/engine/torch/protocol.ts: one JSON object per line each way.

Commands (stdin), answered in order; each ends with exactly one terminal event ('ok', 'loaded',
'epochDone', 'evaluated', 'parity' or 'error'):
  {"cmd":"load", "config":<TS ModelConfig>, "weights":<model.safetensors>, "device":"auto|cuda|mps|cpu", "precision":"auto|fp32|mixed_float16|bf16"}
      -> {"event":"loaded", "device":"cuda|mps|cpu", "deviceName", "torch", "precision", "threads"}
  {"cmd":"data", "split":"train|val|test", "file":<token-id file>}                  -> {"event":"ok"}
  {"cmd":"trainEpoch", "split", "order":[int], "batchSize", "seed", "lr"}
      -> {"event":"step", "step", "steps", "lossSum", "correct", "seen"}* -> {"event":"epochDone", "lossSum", "correct", "seen", "seconds"}
  {"cmd":"evaluate", "split", "batchSize", "logits"?: bool} -> {"event":"evalStep", "step", "steps"}* -> {"event":"evaluated", "lossSum", "predictions", "logits"?}
  {"cmd":"keepBest"} | {"cmd":"restoreBest"}                                       -> {"event":"ok"}
  {"cmd":"save", "file":<model.safetensors>}                                       -> {"event":"ok"}
  {"cmd":"parity", "config", "weights", "inputs":{input_ids, attention_mask, token_type_ids?, labels}, "out":<file>} -> {"event":"parity"}
  {"cmd":"cancel"}: handled by the reader thread (stops the current epoch/evaluation between steps).
Errors: {"event":"error", "message", "oom": bool} (oom: the allocator ran out of memory).
The process exits when stdin closes (the worker ended or died): it never outlives its parent.

Token-id files: int32 little-endian n, labels[n], offsets[n+1], tokens[offsets[n]].
"""
TERMINAL = {"ok", "loaded", "epochDone", "evaluated", "parity", "error"}
