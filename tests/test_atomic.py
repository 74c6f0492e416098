"""Atomic writes: a failed or interrupted write never replaces a good file and leaves nothing behind."""

from __future__ import annotations

import errno
import os

import pytest
import torch
from safetensors.torch import save_file
from trainer_runs import assert_no_leftovers

from lora_studio.atomic import (
    atomic_dir,
    atomic_path,
    clean_stale,
    write_bytes_atomic,
    write_failure,
    write_text_atomic,
)


def test_a_write_that_fails_halfway_keeps_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "tags.txt"
    write_text_atomic(target, "1girl, smile\n")
    with pytest.raises(OSError), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "1girl, smile\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tags.txt"]


def test_writes_replace_the_whole_file(tmp_path):
    write_bytes_atomic(tmp_path / "a.bin", b"long old content")
    write_bytes_atomic(tmp_path / "a.bin", b"new")
    assert (tmp_path / "a.bin").read_bytes() == b"new"
    write_text_atomic(tmp_path / "deep" / "er" / "b.txt", "made the folders")
    assert (tmp_path / "deep" / "er" / "b.txt").read_text() == "made the folders"


def test_a_folder_that_fails_halfway_keeps_the_previous_folder(tmp_path):
    with atomic_dir(tmp_path / "diffusers") as tmp:
        (tmp / "w.safetensors").write_bytes(b"good")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "diffusers") as tmp:
        (tmp / "w.safetensors").write_bytes(b"ha")
        raise RuntimeError("safetensors: write failed")  # writers raise their own types, not only OSError
    assert (tmp_path / "diffusers" / "w.safetensors").read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["diffusers"]


def test_clean_stale_removes_only_the_temporaries_of_the_named_files(tmp_path):
    (tmp_path / ".run.safetensors.ab12.tmp").write_bytes(b"half")
    (tmp_path / ".notes.txt.ab12.tmp").write_bytes(b"someone else's")
    removed = clean_stale(tmp_path, ["*.safetensors"])
    assert [p.name for p in removed] == [".run.safetensors.ab12.tmp"]
    assert (tmp_path / ".notes.txt.ab12.tmp").exists()


@pytest.mark.parametrize("code, advice", [(errno.ENOSPC, "disk is full"), (errno.EACCES, "permission denied"),
                                          (errno.EROFS, "read-only")])
def test_a_failed_write_is_a_sentence_naming_the_file_and_what_to_do(code, advice):
    text = write_failure(OSError(code, "x"), "the adapter", "/runs/a/a.safetensors")
    assert text.startswith("could not write the adapter '/runs/a/a.safetensors'") and advice in text


# ---------------------------------------------------------------- after a crash


def test_a_folder_left_by_a_crash_between_the_two_renames_comes_back(tmp_path):
    from lora_studio.atomic import atomic_dir
    from lora_studio.checkpoints import clean_partials

    run = tmp_path / "run"
    (run / ".diffusers.old").mkdir(parents=True)  # the state right after the first rename of atomic_dir
    (run / ".diffusers.old" / "pytorch_lora_weights.safetensors").write_bytes(b"previous")
    (run / ".diffusers.x1y2.tmp").mkdir()
    (run / ".t.safetensors.x1y2.tmp").write_bytes(b"half")
    (run / "samples").mkdir()
    (run / "samples" / ".step000002_0.png.x1y2.tmp").write_bytes(b"half")
    clean_partials(run)
    assert (run / "diffusers" / "pytorch_lora_weights.safetensors").read_bytes() == b"previous"
    assert_no_leftovers(run)

    with atomic_dir(run / "diffusers") as tmp:
        (tmp / "pytorch_lora_weights.safetensors").write_bytes(b"next")
    assert (run / "diffusers" / "pytorch_lora_weights.safetensors").read_bytes() == b"next"
    assert_no_leftovers(run)


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    from lora_studio.atomic import atomic_dir, atomic_path

    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.safetensors") as tmp:
            save_file({"x": torch.zeros(2)}, str(tmp))  # safetensors writes its files 0600
        with atomic_dir(tmp_path / "d") as tmp:
            save_file({"x": torch.zeros(2)}, str(tmp / "w.safetensors"))
    finally:
        os.umask(mask)
    assert (tmp_path / "a.safetensors").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "d" / "w.safetensors").stat().st_mode & 0o777 == 0o644
