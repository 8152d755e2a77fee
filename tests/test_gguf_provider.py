"""The gguf/ model provider: model strings, -M options and errors (fast, no server), and the real
xllamacpp server with the bundled SmolLM2 file (slow): eval() through it, one server shared by
roles and by the evals of one process, schema-enforced output, the prompt cache restored in a new
process, and no server process left after the process ends, an error, a Ctrl-C or the parent
being killed (SIGKILL, SIGTERM)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from inspect_ai.model import GenerateConfig, ResponseSchema, get_model
from inspect_ai.solver import Generate, TaskState, solver
from inspect_ai.util import JSONSchema

from emplifai.errors import UserError
from emplifai.local_model import find_gguf
from emplifai.providers import gguf_server
from emplifai.providers.gguf import GGUFAPI, check_serve_extra
from emplifai.providers.gguf_file import read_gguf_info
from emplifai.providers.gguf_server import context_for


def _gone(pid: int, wait_s: float = 5.0) -> bool:
    deadline = time.time() + wait_s
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie child of this process still answers kill(0): reap it
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return False


# ---- fast: no server ----------------------------------------------------------------------


def test_registered_with_inspect_and_lazy() -> None:
    model = get_model("gguf/smollm2-135m", memoize=False)
    assert isinstance(model.api, GGUFAPI)
    assert model.api.path == find_gguf()
    assert gguf_server.running(model.api.key) is None  # nothing starts before the first request


def test_reads_the_gguf_header() -> None:
    info = read_gguf_info(find_gguf())
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.has_chat_template


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("gguf/no/such/model.gguf", {}, "no such file"),
        ("gguf/smollm2-135m", {"ctx": 4096}, "unknown -M option"),
        ("gguf/smollm2-135m", {"n_ctx": "big"}, "-M n_ctx must be an integer >= 1"),
        ("gguf/smollm2-135m", {"slots": 0}, "-M slots must be an integer >= 1"),
        ("gguf/smollm2-135m", {"grammar": ""}, "-M grammar must be a GBNF grammar"),
        ("gguf/smollm2-135m", {"flash_attn": "fast"}, "-M flash_attn must be one of off, on, auto, got 'fast'"),
        ("gguf/smollm2-135m", {"cache_type_k": "q4_0"}, "-M cache_type_k must be one of q8_0, f16, got 'q4_0'"),
    ],
)
def test_user_mistakes_are_one_line_errors(name: str, args: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        get_model(name, memoize=False, **args)


def test_attention_settings_default_and_yaml_booleans() -> None:
    """The defaults are the measured fastest on CPU; -M flash_attn=on arrives from YAML as True."""
    default = get_model("gguf/smollm2-135m", memoize=False).api
    assert (default.key.flash_attn, default.key.cache_type_k) == ("off", "q8_0")
    on = get_model("gguf/smollm2-135m", memoize=False, flash_attn=True, cache_type_k="f16").api
    assert (on.key.flash_attn, on.key.cache_type_k) == ("on", "f16")
    # Other settings, another server: the two never share slots (or a saved prefix).
    assert on.connection_key() != default.connection_key()


def test_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"<html>not a model</html>")
    with pytest.raises(UserError, match="is not a GGUF model file"):
        get_model(f"gguf/{fake}", memoize=False)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(find_gguf().read_bytes()[:5000])
    with pytest.raises(UserError, match="truncated or corrupt"):
        get_model(f"gguf/{truncated}", memoize=False)


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "xllamacpp" else real(n, *a))
    with pytest.raises(UserError, match=r"pip install 'emplifai\[serve\]'"):
        check_serve_extra()


def test_context_sizing() -> None:
    assert context_for(1000, 32768) == 8192  # the default covers ordinary prompts
    assert context_for(10_000, 32768) == 13312  # 1.25 x the need, in steps of 1024
    assert context_for(10_000, 8192) == 8192  # never above the training context
    assert context_for(100, None) == 8192


def test_request_sends_the_schema_whole_and_the_settings() -> None:
    api = get_model("gguf/smollm2-135m", memoize=False, grammar='root ::= "yes" | "no"').api
    schema = ResponseSchema(
        name="v",
        json_schema=JSONSchema(
            type="object",
            properties={"score": JSONSchema(type="integer", minimum=1, maximum=5), "why": JSONSchema(type="string",
                                                                                                     maxLength=40)},
            required=["score", "why"],
        ),
    )
    req = api._request([], GenerateConfig(temperature=0, max_tokens=12, response_schema=schema, top_k=5))
    sent = req["response_format"]["json_schema"]["schema"]
    assert sent["properties"]["score"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert sent["properties"]["why"]["maxLength"] == 40
    assert req["temperature"] == 0 and req["max_tokens"] == 12 and req["extra_body"] == {"top_k": 5}
    # the raw grammar applies only to requests without a schema
    plain = api._request([], GenerateConfig())
    assert plain["extra_body"]["grammar"].startswith("root ::=") and "response_format" not in plain


# ---- slow: the real server ----------------------------------------------------------------


@solver
def _record_servers():
    """Calls the candidate and the grader, then records the running servers' pids."""

    async def solve(state: TaskState, generate_: Generate) -> TaskState:
        from inspect_ai.model import get_model as current

        cfg = GenerateConfig(max_tokens=4, temperature=0)
        await current().generate("Say yes.", config=cfg)
        await current(role="grader").generate("Say no.", config=cfg)
        state.metadata["server_pids"] = [s.pid for s in gguf_server._servers.values() if s.alive()]
        return state

    return solve


@solver
def _fail_after_start(exc: type[BaseException]):
    async def solve(state: TaskState, generate_: Generate) -> TaskState:
        from inspect_ai.model import get_model as current

        await current().generate("Say yes.", config=GenerateConfig(max_tokens=2))
        state.metadata["server_pids"] = [s.pid for s in gguf_server._servers.values() if s.alive()]
        _pids.extend(state.metadata["server_pids"])
        raise exc("raised on purpose after the server started")

    return solve


_pids: list[int] = []


def _in_a_process(body: str, env: dict[str, str] | None = None, timeout: int = 400) -> list[str]:
    """Run ``body`` in a fresh Python (a user's process); its printed lines."""
    prelude = textwrap.dedent(
        """
        from inspect_ai import Task, eval
        from inspect_ai.dataset import Sample
        from emplifai.local_model import find_gguf
        from emplifai.providers import gguf_server
        from tests.test_gguf_provider import _fail_after_start, _record_servers
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(body)], capture_output=True, text=True, timeout=timeout,
        check=False, cwd=Path(__file__).resolve().parents[1], env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in done.stdout, done.stdout[-2000:]
    return [ln for ln in done.stdout.splitlines() if ln.strip()] + ["stderr:" + done.stderr[-3000:]]


@pytest.mark.slow
def test_one_server_for_both_roles_and_both_evals_of_a_process_gone_at_exit(tmp_path: Path) -> None:
    lines = _in_a_process(
        f"""
        pids = []
        for _ in range(2):
            [log] = eval(Task(dataset=[Sample(input="x")], solver=_record_servers()), model="gguf/smollm2-135m",
                         model_roles={{"grader": f"gguf/{{find_gguf()}}"}}, display="none", log_dir={str(tmp_path)!r})
            assert log.status == "success", log.error
            pids.append(log.samples[0].metadata["server_pids"])
            usage = log.stats.model_usage["gguf/smollm2-135m"]
            assert usage.input_tokens > 0 and usage.output_tokens > 0  # counted by the server
        print("PIDS", pids)
        """
    )
    [pids] = [ast.literal_eval(ln.split(" ", 1)[1]) for ln in lines if ln.startswith("PIDS ")]
    assert len(pids[0]) == 1 and pids[0] == pids[1], pids  # one server, kept for the second eval
    assert _gone(pids[0][0]), "server still running after its process exited"


@pytest.mark.slow
@pytest.mark.parametrize("exc", ["RuntimeError", "KeyboardInterrupt"])
def test_no_server_left_after_an_error_or_ctrl_c(tmp_path: Path, exc: str) -> None:
    lines = _in_a_process(
        f"""
        import tests.test_gguf_provider as t
        try:
            eval(Task(dataset=[Sample(input="x")], solver=_fail_after_start({exc})), model="gguf/smollm2-135m",
                 display="none", log_dir={str(tmp_path)!r})
        except KeyboardInterrupt:
            pass
        print("PIDS", t._pids)
        """
    )
    [pids] = [ast.literal_eval(ln.split(" ", 1)[1]) for ln in lines if ln.startswith("PIDS ")]
    assert len(pids) == 1 and _gone(pids[0]), f"server still running after {exc}"


@pytest.mark.slow
def test_the_prefix_is_restored_from_disk_in_a_new_process(tmp_path: Path) -> None:
    body = """
        import asyncio
        from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model
        rules = " ".join(f"Rule {i}: weigh how the supporter answered the patient." for i in range(40))
        model = get_model("gguf/smollm2-135m", memoize=False)
        out = asyncio.run(model.generate([ChatMessageSystem(content=rules), ChatMessageUser(content=__import__("os").getpid().__str__())],
                                         config=GenerateConfig(max_tokens=2, temperature=0)))
        gguf_server.save_prompt_caches()
        print("EVENTS", gguf_server.prompt_cache_events)
        """
    env = {"EMPLIFAI_PROMPT_CACHE": str(tmp_path / "cache")}
    first = _in_a_process(body, env)
    assert any("wrote" in ln for ln in first if ln.startswith("EVENTS")), first
    second = _in_a_process(body, env)
    assert any("restored" in ln and "wrote" in ln for ln in second if ln.startswith("EVENTS")), second
    off = _in_a_process(body.replace('"gguf/smollm2-135m"', '"gguf/smollm2-135m", prompt_cache="false"'),
                        {"EMPLIFAI_PROMPT_CACHE": str(tmp_path / "off")})
    assert any(ln == "EVENTS []" for ln in off), off
    assert not (tmp_path / "off").exists() or not list((tmp_path / "off").glob("*.bin"))
    # llama.cpp's own attention settings store the KV another way: the saved prefix is not theirs.
    other = _in_a_process(body.replace('"gguf/smollm2-135m"', '"gguf/smollm2-135m", flash_attn="auto", cache_type_k="f16"'), env)
    events = next(ln for ln in other if ln.startswith("EVENTS"))
    assert "prompt cache: wrote" in events and "prompt cache: restored" not in events, other


@pytest.mark.slow
def test_schema_is_enforced_and_temperature_zero_is_repeatable() -> None:
    import asyncio

    schema = ResponseSchema(
        name="verdict",
        json_schema=JSONSchema(
            type="object",
            properties={"score": JSONSchema(type="integer", enum=[1, 2, 3, 4, 5])},
            required=["score"], additionalProperties=False,
        ),
    )
    model = get_model("gguf/smollm2-135m", memoize=False)

    async def ask() -> list[str]:
        cfg = GenerateConfig(temperature=0, max_tokens=20, response_schema=schema)
        return [(await model.generate("Rate the colour blue from 1 to 5.", config=cfg)).completion for _ in range(2)]

    try:
        first, second = asyncio.run(ask())
    finally:
        gguf_server.stop_all_servers()
    assert json.loads(first)["score"] in (1, 2, 3, 4, 5)
    assert first == second


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [9, 15])
def test_server_dies_with_a_killed_parent(tmp_path: Path, signal_number: int) -> None:
    script = textwrap.dedent(
        """
        import asyncio, os
        from inspect_ai.model import GenerateConfig, get_model
        from emplifai.providers import gguf_server
        model = get_model("gguf/smollm2-135m")
        asyncio.run(model.generate("hi", config=GenerateConfig(max_tokens=2)))
        print([s.pid for s in gguf_server._servers.values()][0], flush=True)
        os.kill(os.getpid(), {signal_number})
        """
    ).replace("{signal_number}", str(signal_number))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    pid = int(out.stdout.strip().splitlines()[-1])
    assert _gone(pid, wait_s=10), "server outlived its SIGKILLed parent"


def test_startup_failure_is_one_line_with_the_server_log(tmp_path: Path) -> None:
    """A file with the GGUF magic but no model in it: llama.cpp refuses it; the error is one line."""
    bad = tmp_path / "empty.gguf"
    # magic, version 3, 0 tensors, 0 metadata entries: a valid header and nothing to load
    bad.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") * 2)
    model = get_model(f"gguf/{bad}", memoize=False)
    import asyncio

    with pytest.raises(UserError) as err:
        asyncio.run(model.generate("hi", config=GenerateConfig(max_tokens=2)))
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
    assert gguf_server.running(model.api.key) is None


@pytest.mark.parametrize(("cores", "load", "threads"), [(2, 0.2, 2), (2, 1.5, 1), (2, 12.0, 1), (16, 3.0, 14)])
def test_default_threads_leave_busy_cores_alone(
    monkeypatch: pytest.MonkeyPatch, cores: int, load: float, threads: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    monkeypatch.setattr(gguf_server, "busy_cores", lambda: load)
    assert gguf_server.default_threads() == threads


def test_busy_cores_reads_proc_stat_and_falls_back_to_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = iter([[100, 0, 100, 800, 0, 0, 0, 0], [150, 0, 150, 900, 0, 0, 0, 0]])  # half busy
    monkeypatch.setattr(gguf_server, "_cpu_times", lambda: next(samples))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert gguf_server.busy_cores(window_s=0) == pytest.approx(1.0)

    def unreadable() -> list[int]:
        raise OSError("no /proc")

    monkeypatch.setattr(gguf_server, "_cpu_times", unreadable)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert gguf_server.busy_cores(window_s=0) == 1.5


def test_clients_are_kept_per_event_loop_and_closed_in_their_own() -> None:
    import asyncio

    closed: list[int] = []

    class FakeClient:
        def __init__(self, n: int) -> None:
            self.n = n

        async def close(self) -> None:
            closed.append(self.n)

    server = object()
    made = iter(range(10))

    async def use_then_close() -> tuple[bool, int]:
        first = gguf_server.client_for(server, lambda: FakeClient(next(made)))  # type: ignore[arg-type]
        again = gguf_server.client_for(server, lambda: FakeClient(next(made)))  # type: ignore[arg-type]
        return first is again, await gguf_server.close_clients()

    assert asyncio.run(use_then_close()) == (True, 1)
    assert asyncio.run(use_then_close()) == (True, 1)  # a new loop gets its own client
    assert closed == [0, 1] and not any(k[0] == id(server) for k in gguf_server._clients)
