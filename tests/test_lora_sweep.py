"""course_utils.llm.lora_sweep: the sweep's command line (on a tiny random Llama with SmolLM2's
tokenizer), combining sweeps, the table, and the stored sweep chapter 14 reads."""

from __future__ import annotations

import json

import pytest
from test_lora import tiny_model

from course_utils.llm import lora as ft
from course_utils.llm import lora_sweep, smollm2


@pytest.fixture(scope="module")
def tokenizer():
    return smollm2.load_hf_tokenizer()


@pytest.fixture
def tiny_sweep(tokenizer, tmp_path, monkeypatch):
    """Run the command line on two settings and two seeds with a tiny model; return a factory
    taking the seeds and giving the JSON file it wrote."""
    monkeypatch.setattr(smollm2, "load_hf_model", lambda: (tiny_model(), tokenizer))
    monkeypatch.setattr(lora_sweep, "RECIPE", ft.TrainSettings(steps=2, batch_size=2, lr=3e-3))

    def sweep(seeds, name="sweep.json"):
        out = tmp_path / name
        argv = ["--configs", "0", "8", "--seeds", *map(str, seeds), "--heldout", "4",
                "--out", str(out)]
        assert lora_sweep.main(argv) == 0
        return out

    return sweep


def test_settings_are_distinct_and_include_chapter_14s_adapter_and_live_recipe():
    names = [name for name, _ in lora_sweep.CONFIGS]
    assert len(set(names)) == len(names)
    settings = dict(lora_sweep.CONFIGS)
    assert settings["q, v  r=8"] == ft.LoraSettings()  # chapter 14's adapter is in the sweep
    assert lora_sweep.RECIPE.steps == 14 and lora_sweep.RECIPE.lr == 3e-3
    assert lora_sweep.RECIPE.max_seconds is None  # every run takes all its steps


def test_command_line_records_every_run_and_the_table_summarises_them(tiny_sweep):
    sweep = lora_sweep.read_sweep(tiny_sweep([0, 1]))
    assert sweep["commands"][0].startswith("python -m course_utils.bench lora-sweep --configs")
    assert sweep["heldout"] == 4 and sweep["recipe"]["steps"] == 2
    assert len(sweep["runs"]) == 4
    names = [lora_sweep.CONFIGS[0][0], lora_sweep.CONFIGS[8][0]]
    assert [r["name"] for r in sweep["runs"]] == [names[0], names[0], names[1], names[1]]
    for run in sweep["runs"]:
        assert run["steps"] == 2 and 0 <= run["exact_match"] <= 1
        assert run["general_bits"] > 0 and run["answer_loss"] > 0
    # more targets at a higher rank: more trainable parameters
    assert sweep["runs"][2]["trainable"] > sweep["runs"][0]["trainable"]
    table = lora_sweep.sweep_table(sweep, reference=names[0])
    assert list(table.index) == names
    first = [r["exact_match"] for r in sweep["runs"][:2]]
    assert table.loc[names[0], "exact match"] == pytest.approx(sum(first) / 2)
    assert table.loc[names[0], "exact match spread"] == pytest.approx(max(first) - min(first))
    assert (table["seeds"] == 2).all()


def test_sweeps_of_one_recipe_combine_and_others_are_refused(tiny_sweep, tmp_path):
    a, b = tiny_sweep([0], "a.json"), tiny_sweep([1], "b.json")
    out = tmp_path / "both.json"
    assert lora_sweep.main(["--combine", str(a), str(b), "--out", str(out)]) == 0
    both = lora_sweep.read_sweep(out)
    assert len(both["commands"]) == 3 and len(both["runs"]) == 4
    assert both["commands"][-1].startswith("python -m course_utils.bench lora-sweep --combine")
    assert sorted(r["seed"] for r in both["runs"]) == [0, 0, 1, 1]
    other = json.loads(b.read_text())
    other["recipe"]["lr"] = 1e-3
    with pytest.raises(ValueError, match="recipe"):
        lora_sweep.combine([json.loads(a.read_text()), other])


def test_missing_sweep_and_bad_options_are_clear(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="bench lora-sweep"):
        lora_sweep.read_sweep(tmp_path / "none.json")
    with pytest.raises(SystemExit):
        lora_sweep.main(["--heldout", "0"])
    with pytest.raises(SystemExit):
        lora_sweep.main(["--combine", "x.json"])  # no --out
    assert "--out" in capsys.readouterr().err


def test_stored_sweep_covers_every_setting_with_several_seeds_at_the_recipe():
    sweep = lora_sweep.read_sweep()
    assert sweep["recipe"] == {"steps": lora_sweep.RECIPE.steps,
                               "batch_size": lora_sweep.RECIPE.batch_size,
                               "lr": lora_sweep.RECIPE.lr, "alpha": 16}
    assert sweep["heldout"] == ft.HELDOUT_SIZE
    table = lora_sweep.sweep_table(sweep)
    assert list(table.index) == [name for name, _ in lora_sweep.CONFIGS]
    assert (table["seeds"] >= 2).all()
    assert all(r["steps"] == lora_sweep.RECIPE.steps for r in sweep["runs"])


def test_paired_differences_compare_settings_seed_by_seed():
    runs = [{"name": name, "seed": seed, "trainable": t, "exact_match": em,
             "answer_loss": 0.1, "general_bits": 1.0}
            for name, t, ems in (("q, v  r=8", 10, (0.8, 0.6)), ("other", 20, (0.9, 0.5)))
            for seed, em in zip((0, 1), ems)]
    table = lora_sweep.sweep_table({"runs": runs})
    assert table.loc["q, v  r=8", "paired exact match"] == 0
    assert table.loc["other", "paired exact match"] == pytest.approx(0.0)   # +0.1 and -0.1
    assert table.loc["other", "paired exact match min"] == pytest.approx(-0.1)
    assert table.loc["other", "paired exact match max"] == pytest.approx(0.1)
    assert table.loc["other", "exact match spread"] == pytest.approx(0.4)
    assert table.loc["other", "paired bits"] == 0  # same general bits everywhere
    with pytest.raises(ValueError, match="reference"):
        lora_sweep.sweep_table({"runs": runs}, reference="nope")
