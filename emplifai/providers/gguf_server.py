"""Life of the xllamacpp servers behind ``gguf/`` models: start, share, keep, stop.

One server per model file and settings per process, shared by every role that names it (candidate
and grader on ``gguf/smollm2-135m`` talk to the same process) and by every eval the process runs
(the demo's stages, an ``eval-set`` over several candidates with one gguf/ judge, a test session):
the second eval finds the judge's prefix already computed. A server starts on the first request
(so its context can be sized to the prompts actually sent; a later request that needs more
restarts it larger unless ``-M n_ctx`` fixed the size) and stops when the process ends: ``atexit``
on a normal exit, an error or Ctrl-C; the child's own watcher when the parent dies by SIGTERM or
SIGKILL (see ``_serve``). ``stop_all_servers()`` stops them earlier.

When a run ends (the ``on_run_end`` hook) and at exit, the slot of each one-slot server is saved
to the prompt cache on disk (``prompt_cache``); before a request, a server restores the saved slot
that shares a longer prefix with it than its slot does (its first request, or a switch from the
candidate's prompts to the judge's).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.hooks import Hooks, RunEnd, hooks

from emplifai.errors import UserError
from emplifai.heartbeat import heartbeat
from emplifai.providers import prompt_cache
from emplifai.providers._serve import CACHE_TYPES_K, FLASH_ATTN

START_TIMEOUT_S = float(os.environ.get("EMPLIFAI_GGUF_START_TIMEOUT", "300"))
# Default context per slot when nothing asks for more: a judge prompt with seven rubrics is
# 2-4k tokens in English, more in Japanese with a small model's vocabulary.
DEFAULT_CTX_PER_SLOT = 8192


def default_threads() -> int:
    """The cores this process may use (its affinity mask) that other processes are not keeping
    busy when the server starts (``busy_cores``), at least 1.

    Why not simply all of them: llama.cpp's threads wait for each other at every layer, and when
    another process holds one of the cores they wait a whole scheduler slice. Measured on the
    2-core machine while other jobs ran (load ~12): 64 tokens took 4.3-4.7 s with 1 thread and
    54-104 s with 2. On an idle machine every core is used.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, int(cores - busy_cores()) + 1))


def busy_cores(window_s: float = 0.25) -> float:
    """Cores kept busy right now: from /proc/stat over ``window_s``, else the one-minute load average.

    Not the load average first: it still counts, for a minute, a run that has just ended (two
    evals in a row then got one thread where two were free, and ran at half speed).
    """
    try:
        first = _cpu_times()
        time.sleep(window_s)
        second = _cpu_times()
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0
    total = sum(second) - sum(first)
    idle = (second[3] + second[4]) - (first[3] + first[4])  # idle + iowait
    if total <= 0:
        return 0.0
    return (os.cpu_count() or 1) * (1.0 - idle / total)


def _cpu_times() -> list[int]:
    with open("/proc/stat", encoding="ascii") as f:
        fields = f.readline().split()
    if fields[0] != "cpu":
        raise ValueError("unexpected /proc/stat")
    return [int(x) for x in fields[1:9]]


@dataclass(frozen=True)
class ServerKey:
    """What makes two ``gguf/`` models share one server: the file and the settings asked for."""

    path: str
    n_ctx: int | None  # context per slot asked with -M n_ctx (None = sized to the prompts)
    threads: int | None  # -M threads (None = the free cores when the server starts)
    prompt_cache: bool = True  # -M prompt_cache: save and restore the slot on disk
    # -M flash_attn and -M cache_type_k (``_serve.FLASH_ATTN``, ``_serve.CACHE_TYPES_K``; the first
    # of each is the default). The defaults decode a judge fastest on the CPU wheel: measured with
    # ``bench/attention.py`` (2 cores, SmolLM2-135M, the 6,948-token Japanese judge prompt; tok/s
    # prompt / generated after it): llama.cpp's own choice (flash attention on, f16 keys) 165 / 18.9;
    # off, f16 72.3 / 26.6; off, q8_0 122 / 29.6; on, q8_0 76.7 / 21.6. A judge computes its prefix
    # once (then kept in the slot and on disk) and decodes ~300-1,000 tokens per verdict, so
    # generation speed decides. q8_0 keys change the logits slightly; GPU builds: flash_attn=auto.
    flash_attn: str = next(iter(FLASH_ATTN))
    cache_type_k: str = CACHE_TYPES_K[0]


def context_for(need_tokens: int, train_ctx: int | None) -> int:
    """Context per slot for a first request needing ``need_tokens``: the default, or the next
    multiple of 1024 above 1.25x the need when that is larger; never above the training context."""
    ctx = max(DEFAULT_CTX_PER_SLOT, -(-int(need_tokens * 1.25) // 1024) * 1024)
    return min(ctx, train_ctx) if train_ctx else ctx


@dataclass
class GGUFServer:
    """One running child process serving one model."""

    key: ServerKey
    alias: str
    slots: int
    ctx_per_slot: int
    process: subprocess.Popen[str] | None = None
    address: str = ""
    log_path: Path | None = None
    started_s: float = 0.0
    threads: int = 0
    # The prompt (as text) of the last request on slot 0, and whether the slot changed since it
    # was last saved or restored (only one-slot servers: with more, which slot holds what is
    # llama.cpp's choice).
    slot_text: str | None = None
    slot_dirty: bool = False
    _log_file: object = field(default=None, repr=False)
    _beat: ExitStack | None = field(default=None, repr=False)  # the progress lines' thread (heartbeat)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        """Last lines of llama.cpp's log that say something (errors first), for one-line messages."""
        if not self.log_path or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        errors = [ln.strip() for ln in text if " E " in ln or "error" in ln.lower() or "failed" in ln.lower()]
        picked = (errors or [ln.strip() for ln in text if ln.strip()])[-lines:]
        return " | ".join(picked)

    @property
    def caches_prompts(self) -> bool:
        return self.key.prompt_cache and self.slots == 1

    def start(self) -> None:
        self.threads = self.key.threads or default_threads()
        fd, log = tempfile.mkstemp(prefix="emplifai-gguf-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        self._log_file = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        cmd = [
            sys.executable, "-m", "emplifai.providers._serve",
            "--model", self.key.path, "--alias", self.alias,
            "--ctx-per-slot", str(self.ctx_per_slot), "--slots", str(self.slots),
            "--threads", str(self.threads), "--parent", str(os.getpid()),
            "--flash-attn", self.key.flash_attn, "--cache-type-k", self.key.cache_type_k,
        ]
        if self.caches_prompts:
            prompt_cache.cache_dir().mkdir(parents=True, exist_ok=True)
            cmd += ["--slot-save-path", str(prompt_cache.cache_dir())]
        t0 = time.monotonic()
        # Outside a terminal, a line every 30 s while the model loads and while the server serves
        # (a local model's replies take long; Inspect's plain display is silent between samples).
        self._beat = ExitStack()
        beat = self._beat.enter_context(heartbeat(f"gguf/{self.alias}: loading {Path(self.key.path).name}"))
        # start_new_session: a Ctrl-C in the terminal reaches the eval, which stops the server in
        # order; the server does not die half-way through a request on its own SIGINT.
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._log_file, text=True, start_new_session=True
        )
        line = self._read_ready_line(t0)
        try:
            self.address = json.loads(line)["address"]
        except (ValueError, KeyError, TypeError):
            why = line.strip() or self.log_tail()
            self.stop()
            raise UserError(f"gguf server for {self.key.path} did not start: {why}") from None
        self._wait_healthy(t0)
        self.started_s = time.monotonic() - t0
        beat.stage(f"gguf/{self.alias}: serving (model loaded in {self.started_s:.0f} s)")

    def _read_ready_line(self, t0: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not result or not result[0]:
            # The reader saw the end of the child's output (it died) or the time ran out. A child
            # that closed its output is still exiting: wait for its exit code rather than report
            # a timeout for a server that died at once.
            try:
                code: int | None = self.process.wait(timeout=10 if result else 0.1)
            except subprocess.TimeoutExpired:
                code = None
            tail = self.log_tail()
            self.stop()
            if code is None:
                raise UserError(
                    f"gguf server for {self.key.path} did not load the model within {START_TIMEOUT_S:.0f} s "
                    f"(last lines of its log: {tail or 'none'})"
                )
            raise UserError(
                f"gguf server for {self.key.path}: the server exited while loading (exit code {code}, "
                f"last lines of its log: {tail or 'none'}); is the file complete? A model cut short "
                "(an interrupted download or copy) fails this way"
            )
        return result[0]

    def _wait_healthy(self, t0: float) -> None:
        while time.monotonic() - t0 < START_TIMEOUT_S:
            if not self.alive():
                break
            try:
                with urllib.request.urlopen(f"{self.address}/health", timeout=5) as resp:
                    if json.loads(resp.read()).get("status") == "ok":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass  # 503 while loading, or not listening yet
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise UserError(f"gguf server for {self.key.path} never became healthy: {tail or 'no log'}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the child and wait for it; SIGKILL if it does not stop in time. Idempotent."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None
        if self._beat is not None:
            self._beat.close()
            self._beat = None
        # What a message needed from the log was read before stop(); nothing is left in /tmp.
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def _post(self, path: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.address}{path}", data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def identity(self) -> prompt_cache.Identity:
        return prompt_cache.Identity(
            model_sha256=prompt_cache.model_sha256(self.key.path),
            llama_cpp=prompt_cache.llama_cpp_build(),
            # Not the context size or slot count: a slot file holds tokens and their KV, and
            # llama.cpp restores it into any slot with room for them (it refuses otherwise).
            # The KV layout: the key type, and whether V is stored transposed (flash attention off).
            settings=(("kv_cache_type_k", self.key.cache_type_k), ("kv_cache_type_v", "f16"),
                      ("flash_attn", self.key.flash_attn)),
        )

    def restore_prompt(self, text: str) -> str | None:
        """Before a request: load the saved slot sharing the longest prefix with ``text`` when it
        shares more than the slot already does. Returns what happened, for the run's output; None
        when nothing better was found."""
        if not self.caches_prompts:
            return None
        held = prompt_cache.shared_prefix(self.slot_text or "", text)
        found = prompt_cache.best_entry(self.identity(), text, better_than=held)
        if found is None:
            return None
        entry, shared = found
        try:
            answer = self._post("/slots/0?action=restore", {"filename": entry.bin_path.name}, timeout=120)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # Kept: a slot longer than this server's context is refused here and fits a larger one.
            return f"prompt cache: {entry.bin_path.name} not restored by llama.cpp ({exc})"
        prompt_cache.touch(entry)
        self.slot_text, self.slot_dirty = entry.meta["prompt_text"], False
        return (f"prompt cache: restored {answer.get('n_restored', '?')} tokens from {entry.bin_path} "
                f"({shared:,} characters shared with the request)")

    def save_prompt(self) -> str | None:
        """Save slot 0 if it changed since it was last saved or restored."""
        if not (self.caches_prompts and self.slot_dirty and self.slot_text and self.alive()):
            return None
        identity = self.identity()
        name = prompt_cache.entry_id(identity, self.slot_text)
        try:
            answer = self._post("/slots/0?action=save", {"filename": f"{name}.bin"}, timeout=120)
            path = prompt_cache.record(name, identity, self.slot_text, int(answer.get("n_saved", 0)))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            prompt_cache.remove(name)
            return f"prompt cache: not written ({exc})"
        self.slot_dirty = False
        if not path.exists():
            return f"prompt cache: not kept ({answer.get('n_saved')} tokens exceed EMPLIFAI_PROMPT_CACHE_MB)"
        return f"prompt cache: wrote {answer.get('n_saved', '?')} tokens to {path}"

    def tokenize(self, text: str) -> int:
        req = urllib.request.Request(
            f"{self.address}/tokenize", data=json.dumps({"content": text}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return len(json.loads(resp.read())["tokens"])


# ---- process-wide registry ----------------------------------------------------------------

_lock = threading.Lock()
_servers: dict[ServerKey, GGUFServer] = {}
_wanted_slots: dict[ServerKey, int] = {}


def want_slots(key: ServerKey, slots: int) -> None:
    """A model using ``key`` wants ``slots`` parallel requests; the server gets the largest wish."""
    with _lock:
        _wanted_slots[key] = max(slots, _wanted_slots.get(key, 0))


def running(key: ServerKey) -> GGUFServer | None:
    server = _servers.get(key)
    return server if server is not None and server.alive() else None


# What the prompt cache did in this process, in order (the demo prints it).
prompt_cache_events: list[str] = []


def _note(event: str | None) -> None:
    if event:
        prompt_cache_events.append(event)
        print(f"gguf/: {event}", file=sys.stderr, flush=True)


def ensure_server(
    key: ServerKey, alias: str, need_tokens: int, train_ctx: int | None, prompt: str = ""
) -> GGUFServer:
    """The running server for ``key``, started (blocking) if there is none, or restarted larger if
    a request needs more context than it has and ``-M n_ctx`` did not fix it. A new server first
    restores the saved slot that shares the longest prefix with ``prompt``. Thread-safe: callers
    racing on the first request wait for one start."""
    with _lock:
        server = _servers.get(key)
        if server is not None and server.alive():
            if key.n_ctx or need_tokens <= server.ctx_per_slot:
                if prompt:
                    _note(server.restore_prompt(prompt))
                return server
            grown = context_for(need_tokens, train_ctx)
            if grown <= server.ctx_per_slot:
                if prompt:
                    _note(server.restore_prompt(prompt))
                return server  # at the model's limit already: the request reports the overflow
            _note(server.save_prompt())
        if server is not None:  # died or too small: keep its log in the message of whoever notices
            server.stop()
        ctx = key.n_ctx or max(context_for(need_tokens, train_ctx), server.ctx_per_slot if server else 0)
        server = GGUFServer(key=key, alias=alias, slots=_wanted_slots.get(key, 1), ctx_per_slot=ctx)
        server.start()
        _servers[key] = server
        if prompt:
            _note(server.restore_prompt(prompt))
        return server


def save_prompt_caches() -> None:
    """Save the slot of every running one-slot server that changed since its last save."""
    with _lock:
        servers = list(_servers.values())
    for server in servers:
        _note(server.save_prompt())


def stop_all_servers() -> list[int]:
    """Stop every server this process started; returns their pids (for tests and logs)."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    pids = []
    for server in servers:
        if server.pid is not None:
            pids.append(server.pid)
        server.stop()
    return pids


def _at_exit() -> None:
    save_prompt_caches()
    stop_all_servers()


atexit.register(_at_exit)


# ---- HTTP clients -------------------------------------------------------------------------

# (id(server), id(event loop)) -> AsyncOpenAI. A client belongs to the loop it was used in: one
# dropped after its loop closed is closed by its __del__ in whatever loop runs next, where its
# connections are not, which logged "RuntimeError: Event loop is closed" in the next eval. So the
# run-end hook closes the clients of its own loop.
_clients: dict[tuple[int, int], Any] = {}


def client_for(server: GGUFServer, make: Callable[[], Any]) -> Any:
    """The client for ``server`` in the running event loop, made by ``make`` on first use."""
    key = (id(server), id(asyncio.get_running_loop()))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = make()
        return client


async def close_clients() -> int:
    """Close the clients of the running event loop; returns how many."""
    loop_id = id(asyncio.get_running_loop())
    with _lock:
        mine = [k for k in _clients if k[1] == loop_id]
        closing = [_clients.pop(k) for k in mine]
    for client in closing:
        await client.close()
    return len(closing)


@hooks(
    name="gguf_server_lifecycle",
    description="Saves the gguf/ prompt caches and closes the clients of a run when it ends.",
)
class GGUFServerLifecycle(Hooks):
    async def on_run_end(self, data: RunEnd) -> None:
        await close_clients()
        # The servers stay up for the next eval of this process; their slots go to disk now, so a
        # process killed later still leaves its prefix for the next one.
        import anyio

        await anyio.to_thread.run_sync(save_prompt_caches)
