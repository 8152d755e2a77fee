"""The gguf/ prompt cache on disk: where it lives, which entry is restored, what is never trusted,
and its size bound (fast: files only; the real llama.cpp save/restore is in test_gguf_provider)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from emplifai.local_model import default_home
from emplifai.providers import prompt_cache as pc

IDENTITY = pc.Identity(model_sha256="a" * 64, llama_cpp="xllamacpp test", settings=(("kv_cache_type", "f16"),))
OTHER = pc.Identity(model_sha256="b" * 64, llama_cpp="xllamacpp test", settings=(("kv_cache_type", "f16"),))
RUBRIC = "<system>\n" + "Judge the supporter's reply on seven metrics. " * 60 + "\n"


@pytest.fixture(autouse=True)
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("EMPLIFAI_PROMPT_CACHE", str(folder))
    return folder


def _saved(identity: pc.Identity, text: str, payload: bytes = b"kv" * 100) -> str:
    """An entry as the server leaves it: llama.cpp writes the .bin, ``record`` the metadata."""
    name = pc.entry_id(identity, text)
    (pc.cache_dir() / f"{name}.bin").write_bytes(payload)
    pc.record(name, identity, text, n_tokens=42)
    return name


def test_folder_follows_emplifai_home_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EMPLIFAI_PROMPT_CACHE")
    monkeypatch.delenv("EMPLIFAI_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pc.cache_dir() == tmp_path / "xdg" / "emplifai" / "prompt-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # invalid under the XDG spec: ignored
    assert default_home() == Path.home() / ".cache" / "emplifai"
    monkeypatch.setenv("EMPLIFAI_HOME", str(tmp_path / "home"))
    assert pc.cache_dir() == tmp_path / "home" / "prompt-cache"


def test_the_entry_sharing_the_longest_prefix_is_chosen() -> None:
    _saved(IDENTITY, RUBRIC + "<user>\nDialogue A\n")
    other_rubric = RUBRIC.replace("seven", "three")  # differs early: shares little
    _saved(IDENTITY, other_rubric + "<user>\nDialogue B\n")
    found = pc.best_entry(IDENTITY, RUBRIC + "<user>\nDialogue C\n")
    assert found is not None
    entry, shared = found
    assert entry.meta["prompt_text"].endswith("Dialogue A\n")
    assert shared == len(RUBRIC + "<user>\nDialogue ")


def test_a_short_shared_prefix_is_not_worth_restoring() -> None:
    _saved(IDENTITY, "<system>\nshort\n<user>\nA\n")
    assert pc.best_entry(IDENTITY, "<system>\nshort\n<user>\nB\n") is None


def test_another_model_or_build_is_never_restored_and_left_alone() -> None:
    name = _saved(OTHER, RUBRIC)
    assert pc.best_entry(IDENTITY, RUBRIC) is None
    assert (pc.cache_dir() / f"{name}.bin").exists()  # valid for its own model
    other_build = pc.Identity(IDENTITY.model_sha256, "xllamacpp other", IDENTITY.settings)
    _saved(other_build, RUBRIC)
    assert pc.best_entry(IDENTITY, RUBRIC) is None


@pytest.mark.parametrize("damage", ["edited", "truncated", "no_bin", "bad_json", "wrong_format"])
def test_a_damaged_entry_is_ignored_and_removed(damage: str) -> None:
    name = _saved(IDENTITY, RUBRIC)
    bin_path, meta_path = pc.cache_dir() / f"{name}.bin", pc.cache_dir() / f"{name}.json"
    if damage == "edited":
        bin_path.write_bytes(b"xx" * 100)  # same size, other content
    elif damage == "truncated":
        bin_path.write_bytes(b"kv")
    elif damage == "no_bin":
        bin_path.unlink()
    elif damage == "bad_json":
        meta_path.write_text("{not json", encoding="utf-8")
    else:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["format"] = 999
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert pc.best_entry(IDENTITY, RUBRIC) is None
    if damage != "bad_json":  # an unreadable metadata file is skipped (its identity is unknown)
        assert not meta_path.exists() and not bin_path.exists()


def test_size_bound_removes_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPLIFAI_PROMPT_CACHE_MB", "1")
    block = b"k" * 400_000
    first = _saved(IDENTITY, "<system>\nfirst " + RUBRIC, block)
    second = _saved(IDENTITY, "<system>\nsecond " + RUBRIC, block)
    old = time.time() - 3600
    os.utime(pc.cache_dir() / f"{second}.bin", (old, old))  # the second is now the least recently used
    third = _saved(IDENTITY, "<system>\nthird " + RUBRIC, block)  # 1.2 MB > 1 MB: one must go
    left = {p.stem for p in pc.cache_dir().glob("*.bin")}
    assert left == {first, third}


def test_an_entry_larger_than_the_bound_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPLIFAI_PROMPT_CACHE_MB", "0")
    _saved(IDENTITY, RUBRIC)
    assert list(pc.cache_dir().glob("*.bin")) == []


def test_model_hash_is_the_file_sha256_and_remembered(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 100)
    digest = pc.model_sha256(str(model))
    assert digest == pc.file_sha256(model)
    index = json.loads((pc.cache_dir() / "model-hashes.json").read_text(encoding="utf-8"))
    assert digest in index.values()
    model.write_bytes(b"GGUF" + b"\1" * 200)  # changed file: size and mtime differ, hashed again
    assert pc.model_sha256(str(model)) == pc.file_sha256(model) != digest


def test_prompt_text_and_shared_prefix() -> None:
    text = pc.prompt_text([{"role": "system", "content": "rules"}, {"role": "user", "content": [{"type": "text"}]}])
    assert text.startswith("<system>\nrules\n<user>\n")
    assert pc.shared_prefix("abcdef", "abcxyz") == 3 and pc.shared_prefix("", "a") == 0


def test_the_demo_says_whether_the_cache_was_found_or_written(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from emplifai.demo import _print_prompt_cache
    from emplifai.providers import gguf_server

    monkeypatch.setattr(gguf_server, "prompt_cache_events", [
        "prompt cache: restored 7070 tokens from /c/x.bin (11,000 characters shared with the first prompt)",
        "prompt cache: wrote 7100 tokens to /c/x.bin",
    ])
    _print_prompt_cache()
    out = capsys.readouterr().out
    assert "Prompt cache: found (1 restore(s)), written 1 time(s)" in out and "restored 7070 tokens" in out
    monkeypatch.setattr(gguf_server, "prompt_cache_events", [])
    _print_prompt_cache()
    assert "Prompt cache: not found (0 restore(s)), written 0 time(s)" in capsys.readouterr().out


def test_an_entry_is_restored_only_when_it_shares_more_than_the_slot_holds() -> None:
    _saved(IDENTITY, RUBRIC + "<user>\nDialogue A\n")
    request = RUBRIC + "<user>\nDialogue B\n"
    shared = len(RUBRIC + "<user>\nDialogue ")
    assert pc.best_entry(IDENTITY, request, better_than=0) is not None  # a fresh slot, or other prompts
    # The slot already holds the rubric (the previous judge call): the entry adds too little to be worth reading.
    assert pc.best_entry(IDENTITY, request, better_than=len(RUBRIC)) is None
    assert pc.best_entry(IDENTITY, request, better_than=shared - pc.MIN_SHARED_CHARS) is not None
