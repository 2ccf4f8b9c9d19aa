"""Entry point: `python -m bert_lab_torch` (the command loop of protocol.py) or `--probe` (one JSON line
describing Python, torch and its devices)."""
import json
import os
import platform
import queue
import sys
import threading
import time


def probe():
    info = {"python": platform.python_version(), "executable": sys.executable}
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install raising anything
        info["error"] = f"import torch failed: {type(e).__name__}: {e}"
        return info
    info["torch"] = torch.__version__
    info["cuda"] = bool(torch.cuda.is_available())
    if info["cuda"]:
        info["cudaName"] = torch.cuda.get_device_name(0)
        info["cudaVersion"] = torch.version.cuda
    mps = getattr(torch.backends, "mps", None)
    info["mps"] = bool(mps is not None and mps.is_available())
    info["threads"] = os.cpu_count() or 1
    return info


def main():
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must never corrupt the message stream
    if "--probe" in sys.argv:
        out.write(json.dumps(probe()) + "\n")
        out.flush()
        return
    from .server import Server

    cmds = queue.Queue()
    cancel = threading.Event()

    def reader():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m.get("cmd") == "cancel":
                cancel.set()
            else:
                cmds.put(m)
        # stdin closed: the worker is gone (ended, killed or crashed). Never outlive it.
        os._exit(0)

    threading.Thread(target=reader, daemon=True).start()

    def send(m):
        out.write(json.dumps(m) + "\n")
        out.flush()

    server = Server(send, cancel)
    while True:
        server.handle(cmds.get())


if __name__ == "__main__":
    main()
