"""Child process that holds one xllamacpp (llama.cpp) server; started by ``gguf_server``.

Why a child process and not the server in the eval's own process: xllamacpp's ``Server`` has no
stop method (it stops when the object is freed), its C++ threads compete with the event loop, and
a crash in llama.cpp must not take the eval down. A process can be stopped, waited for and
checked (its pid is gone), which is what "no orphan server" means.

It never outlives its parent: a watcher thread exits the process when the parent pid changes
(the parent died, even by SIGKILL). Not ``PR_SET_PDEATHSIG``: Linux ties that to the parent
*thread*, and the eval starts servers from a worker thread that may end long before the eval.
SIGTERM/SIGINT end the process at once (``os._exit``): freeing the ``Server`` object instead
waits for a running prompt batch to finish, which can take minutes on a CPU. It prints one JSON line on stdout once the model is loaded and the
server listens: ``{"ready": true, "address": "http://127.0.0.1:PORT"}``. llama.cpp's own log
goes to stderr, which the parent sends to a log file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time


def _die_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


# -M flash_attn (to llama.cpp's names) and -M cache_type_k: the first of each is the default (why:
# gguf_server.ServerKey). Here, so that this light module and the provider share one list.
FLASH_ATTN = {"off": "LLAMA_FLASH_ATTN_TYPE_DISABLED", "on": "LLAMA_FLASH_ATTN_TYPE_ENABLED",
              "auto": "LLAMA_FLASH_ATTN_TYPE_AUTO"}
CACHE_TYPES_K = ("q8_0", "f16")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--alias", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ctx-per-slot", type=int, required=True)
    ap.add_argument("--slots", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--parent", type=int, required=True)
    ap.add_argument("--slot-save-path", default="", help="folder for llama.cpp's slot save/restore (prompt cache)")
    ap.add_argument("--flash-attn", choices=tuple(FLASH_ATTN), default=next(iter(FLASH_ATTN)))
    ap.add_argument("--cache-type-k", choices=CACHE_TYPES_K, default=CACHE_TYPES_K[0])
    args = ap.parse_args(argv)
    _die_with_parent(args.parent)

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}  # a set of names in this xllamacpp version
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    # llama.cpp splits n_ctx evenly over the slots: each slot gets ctx_per_slot.
    params.n_parallel = args.slots
    params.n_ctx = args.ctx_per_slot * args.slots
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.use_jinja = True  # the chat template stored in the GGUF file
    params.cache_prompt = True  # judge prompts share a long prefix: only the new tokens are computed
    # The attention settings gguf_server.ServerKey explains (measured there); V stays f16, which
    # llama.cpp needs without flash attention.
    params.flash_attn_type = getattr(xllamacpp.llama_flash_attn_type, FLASH_ATTN[args.flash_attn])
    params.cache_type_k = getattr(xllamacpp.ggml_type, f"GGML_TYPE_{args.cache_type_k.upper()}")
    if args.slot_save_path:
        # llama.cpp joins the folder and the file name as strings: the trailing separator matters.
        params.slot_save_path = os.path.join(args.slot_save_path, "")

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(0))
    server = xllamacpp.Server(params)
    print(json.dumps({"ready": True, "address": server.listening_address}), flush=True)
    while True:  # until a signal or the parent watcher ends the process
        signal.pause() if hasattr(signal, "pause") else time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
