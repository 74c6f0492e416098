"""The studio's Compare view scripted through gradio_client (/compare_adapters), and what the view shows: row
labels, captions with scores, the suggestion in both languages, and the refusals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from lora_studio.ui import compare_tab  # noqa: E402
from tests.conftest import train_tiny_run  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_base_path, start_studio):
    root = tmp_path_factory.mktemp("studio")
    train_tiny_run(root, "compared", epochs=2)
    demo = start_studio(root)
    yield demo.local_url, root
    demo.close()


def test_compare_adapters_endpoint(studio):
    client = Client(studio[0], verbose=False)
    answer = client.predict(run="compared", strengths="0.5, 1", prompts=["mychar, smile", "mychar, on a beach"],
                            scorer="auto", api_name="/compare_adapters")
    scores = answer["scores"]
    assert [r["label"] for r in scores["rows"]] == ["base model (strength 0)", "epoch 1 · step 4",
                                                   "epoch 2 · step 8 (final)"]
    assert [(c["prompt"], c["strength"]) for c in scores["columns"]] == [
        ("mychar, smile", 0.5), ("mychar, smile", 1.0), ("mychar, on a beach", 0.5), ("mychar, on a beach", 1.0)]
    for row in scores["rows"]:
        assert all(math.isfinite(cell[k]) for cell in row["cells"] for k in ("dino", "clip_i", "clip_t"))
    assert answer["suggestion"].startswith("suggested: epoch ") and scores["meaningless"] is True
    assert Path(answer["grid"]).is_file() and json.loads(Path(answer["scores_file"]).read_text()) == scores
    assert len(answer["pictures"]) == 3 and all(len(row) == 4 for row in answer["pictures"])
    assert all(Path(p).is_relative_to(studio[1] / "outputs" / "compared") for row in answer["pictures"] for p in row)

    with pytest.raises(AppError, match="not found"):
        client.predict(run="../etc", strengths="1", prompts=[], scorer="auto", api_name="/compare_adapters")
    with pytest.raises(AppError, match="'strong' is not a number"):
        client.predict(run="compared", strengths="strong", prompts=[], scorer="auto", api_name="/compare_adapters")
    with pytest.raises(AppError, match="scorer 'huge' is unknown"):
        client.predict(run="compared", strengths="1", prompts=[], scorer="huge", api_name="/compare_adapters")


def test_what_the_view_shows(studio):
    root = studio[1]
    scores = json.loads((root / "outputs" / "compared" / "compare" / "scores.json").read_text())
    base, first = scores["rows"][0], scores["rows"][1]
    assert compare_tab.row_label(first, "ja") == "エポック 1 · ステップ 4"
    assert compare_tab.row_label(base, "ja") == "ベースモデル（強さ 0）"
    cells = [[root / "outputs" / "compared" / "compare" / "cells" / c["image"] for c in row["cells"]]
             for row in scores["rows"]]
    items, picks = compare_tab.gallery_of(cells, scores, "en")
    assert len(items) == 3 * 4 and picks[0]["adapter"] is None and picks[4]["strength"] == 0.5
    assert items[5][1].startswith("DINO ") and "CLIP-T" in items[5][1] and "strength 1" in items[5][1]
    assert sum(caption.startswith("★") for _, caption in items) == 2  # the suggested adapter at its strength
    assert compare_tab.suggestion_text(scores, "ja").startswith("★ おすすめ: **エポック")
    assert "meaningless" in compare_tab.suggestion_text(scores, "en")
    table = compare_tab.score_table(scores, "en")
    assert list(table.columns)[2] == "likeness (DINO)" and len(table) == 1 + 2 * 2


def test_the_page_sees_the_grid_fill_in_picture_by_picture(studio):
    """The Start button's handler streams: a picture at a time, then the scores; its refusals read in Japanese."""
    import gradio as gr

    from lora_studio.jobs import Jobs
    from lora_studio.studio_paths import StudioPaths
    from lora_studio.ui.common import Studio

    paths = StudioPaths.at(studio[1])
    actions = compare_tab.CompareActions(Studio(paths, Jobs(paths.outputs, cwd=paths.root), lang=gr.State("ja")))
    updates, sizes = [], []
    for update in actions.run_compare("compared", "1", "mychar, smile", "auto", "ja"):
        updates.append(update)
        sizes.append(len(update[2]) if isinstance(update[2], list) else None)  # as gradio sends it, at each yield
    # the base, epoch 1 and epoch 2 at one strength and one prompt: three pictures
    assert [u[0] for u in updates[:4]] == ["3 枚中 0 枚目を描いています…", "3 枚中 1 枚目を描いています…",
                                          "3 枚中 2 枚目を描いています…", "画像のスコアを計算しています…"]
    assert sizes[1:4] == [1, 2, 3]  # the gallery grows
    assert updates[3][2][0][1] == "ベースモデル（強さ 0） · mychar, smile"  # no scores while drawing
    progress, suggestion, items, picks, table, files, picked, grid = updates[-1]
    assert len(updates) == 5 and progress.startswith("完了: ") and suggestion.startswith("★ おすすめ")
    assert len(items) == len(picks) == 3 and items[0][1].startswith("DINO ") and Path(grid).is_file()
    assert [Path(f).name for f in files] == ["grid.png", "scores.json"] and picked is None and len(table) == 3
    with pytest.raises(gr.Error, match="実行 '../etc' が .* に見つかりません"):
        list(actions.run_compare("../etc", "1", "", "auto", "ja"))
