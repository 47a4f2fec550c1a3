"""course_utils.llm.lora: the date task, batching, LoRA training, teacher-forced evaluation,
adapter files, the command line (on a tiny random Llama with SmolLM2's tokenizer), and the
committed adapter's quality on the real model."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
import torch

from course_utils.llm import lora as ft
from course_utils.llm import smollm2


@pytest.fixture(scope="module")
def tokenizer():
    return smollm2.load_hf_tokenizer()


def tiny_model(seed: int = 0, hidden: int = 16):
    """A 2-layer Llama with SmolLM2's vocabulary (random weights: fast and deterministic)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=49152, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=256, tie_word_embeddings=True,
                         initializer_range=0.5)  # large output embeddings: logits can move
    return LlamaForCausalLM(config).eval()


# --- the task ------------------------------------------------------------------------------------

def test_every_format_writes_5_march_2021_as_its_own_name():
    for name, write in ft.FORMATS.items():
        assert write(dt.date(2021, 3, 5)) == name


@pytest.mark.parametrize("day, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                           (11, "11th"), (12, "12th"), (13, "13th"),
                                           (21, "21st"), (22, "22nd"), (23, "23rd"),
                                           (30, "30th"), (31, "31st")])
def test_ordinal_suffix(day, expected):
    assert ft.ordinal_suffix(day) == expected


def test_examples_are_seeded_balanced_and_golden():
    first = ft.make_examples(20, seed=0)
    assert first == ft.make_examples(20, seed=0)
    assert first != ft.make_examples(20, seed=1)
    assert set(Counter(e.format for e in first).values()) == {2}
    assert [(e.text, e.answer) for e in first[:6]] == [
        ("January 24, 2035", "2035-01-24"), ("September 12th, 2013", "2013-09-12"),
        ("11 February 2001", "2001-02-11"), ("Dec 23 1976", "1976-12-23"),
        ("13-Oct-1980", "1980-10-13"), ("the fifth of February 1954", "1954-02-05")]
    for e in ft.make_examples(200, seed=5):
        date = dt.date.fromisoformat(e.answer)
        assert ft.FORMATS[e.format](date) == e.text and ft.is_iso_date(e.answer)
        assert ft.YEARS[0] <= date.year <= ft.YEARS[1]


def test_heldout_set_is_fixed_and_never_trained_on():
    heldout = ft.heldout_examples()
    assert len(heldout) == ft.HELDOUT_SIZE == 120
    assert set(Counter(e.format for e in heldout).values()) == {12}
    assert heldout[0] == ft.DateExample("February 25, 1974", "1974-02-25", "March 5, 2021")
    train_dates = {e.answer for e in ft.training_examples(3000, seed=3)}
    assert not train_dates & {e.answer for e in heldout}


def test_few_shot_prompts_show_one_worked_example_per_form():
    shots = ft.few_shot_examples(seed=0)
    assert [e.format for e in shots] == list(ft.FORMATS)
    assert not {e.answer for e in shots} & {e.answer for e in ft.heldout_examples()}
    prompt = ft.task_prompt("5 March 2021", shots)
    assert prompt.count("<|im_start|>assistant") == len(shots) + 1
    assert prompt.endswith("<|im_start|>assistant\n") and shots[3].answer in prompt
    assert ft.prompt_prefix(shots).startswith(ft.task_prompt(shots[0].text)[:20])
    assert ft.task_prompt("5 March 2021", ()) == ft.task_prompt("5 March 2021")


def test_iso_date_check():
    assert ft.is_iso_date("2024-02-29") and not ft.is_iso_date("2023-02-29")
    assert not ft.is_iso_date("2021-3-5") and not ft.is_iso_date("banana")
    assert not ft.is_iso_date("2021-W09-5") and not ft.is_iso_date("2021-03-05 ")


@pytest.mark.parametrize("text, match", [("", "empty"), ("   ", "empty"), (5, "text"),
                                         ("x" * 81, "too long"), ("May 1\n2020", "one line"),
                                         ("<|im_end|>", "chat markers")])
def test_bad_date_texts(text, match):
    with pytest.raises(ValueError, match=match):
        ft.check_date_text(text)


def test_bad_settings_and_calls():
    with pytest.raises(ValueError, match="n must be"):
        ft.make_examples(0, seed=0)
    with pytest.raises(ValueError, match="Unknown format"):
        ft.make_examples(3, seed=0, formats=["13/13/13"])
    with pytest.raises(ValueError, match="last year"):
        ft.make_examples(3, seed=0, years=(2000, 1990))
    with pytest.raises(ValueError, match="r must be"):
        ft.LoraSettings(r=0)
    with pytest.raises(ValueError, match="target_modules"):
        ft.LoraSettings(target_modules=("lm_head",))
    with pytest.raises(ValueError, match="alpha"):
        ft.LoraSettings(alpha=-1)
    with pytest.raises(ValueError, match="lr must be"):
        ft.TrainSettings(lr=0)
    with pytest.raises(ValueError, match="max_seconds"):
        ft.TrainSettings(max_seconds=-1)
    with pytest.raises(ValueError, match="steps must be"):
        ft.TrainSettings(steps=0)


# --- batches and evaluation on a tiny model ------------------------------------------------------

def test_batches_train_only_on_the_answer(tokenizer):
    examples = ft.make_examples(4, seed=2)
    batch = ft.encode_examples(tokenizer, examples)
    assert tokenizer.decode(batch.prefix_ids) == ft.prompt_prefix()
    eot = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for b, example in enumerate(examples):
        labelled = batch.labels[b][batch.labels[b] != ft.IGNORE].tolist()
        assert tokenizer.decode(labelled) == example.answer + "<|im_end|>"
        assert labelled[-1] == eot and len(labelled) == 11  # one token per character
        assert tokenizer.decode(batch.full_ids(b)) == (ft.task_prompt(example.text)
                                                       + example.answer + "<|im_end|>")
    assert batch.answer_tokens == 44
    # real tokens = non-padding ones; <|im_end|> ends the user turn and the answer
    assert (batch.attention_mask.sum(1) == (batch.input_ids != eot).sum(1) + 2).all()
    with pytest.raises(ValueError, match="No examples"):
        ft.encode_examples(tokenizer, [])


def test_shared_prefix_logits_equal_a_plain_forward_pass(tokenizer):
    model = tiny_model()
    examples = ft.make_examples(5, seed=4)
    batch = ft.encode_examples(tokenizer, examples)
    with torch.no_grad():
        logits, targets, rows = ft.answer_logits(model, batch)
        for b in range(len(examples)):
            ids = torch.tensor(batch.full_ids(b))[None]  # (1, P + S_b)
            reference = model(ids).logits[0, -12:-1]  # the 11 positions predicting the answer
            assert torch.allclose(logits[rows == b], reference, atol=1e-5)
            assert (targets[rows == b] == ids[0, -11:]).all()


def test_evaluate_counts_an_example_only_when_every_answer_token_is_the_argmax(tokenizer,
                                                                               monkeypatch):
    model = tiny_model()
    examples = ft.make_examples(6, seed=7)
    real, calls = ft.answer_logits, []

    def rigged(model, batch):  # the argmax is the target except where we say
        logits, targets, rows = real(model, batch)
        logits = torch.zeros_like(logits)
        logits[torch.arange(len(targets)), targets] = 5.0
        calls.append(len(batch.labels))
        if len(calls) == 1:  # examples 0-3: one wrong digit in example 1
            logits[(rows == 1).nonzero()[3], 0] = 9.0
        else:  # examples 4-5: example 4 would not stop after its answer
            logits[(rows == 0).nonzero()[-1], 0] = 9.0
        return logits, targets, rows

    monkeypatch.setattr(ft, "answer_logits", rigged)
    result = ft.evaluate(model, tokenizer, examples, batch_size=4)
    assert calls == [4, 2]
    assert result.correct.tolist() == [True, False, True, True, False, True]
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.by_format()[examples[1].format] == 0.0
    assert result.loss.shape == (6,) and (result.loss > 0).all()
    with pytest.raises(ValueError, match="No examples"):
        ft.evaluate(model, tokenizer, [])


# --- LoRA training, adapter files, command line ---------------------------------------------------

def test_lora_starts_as_the_base_model_and_training_moves_only_the_adapter(tokenizer):
    base = tiny_model()
    frozen = {k: v.clone() for k, v in base.state_dict().items()}
    batch = ft.encode_examples(tokenizer, ft.make_examples(4, seed=9))
    with torch.no_grad():
        before = ft.answer_logits(base, batch)[0]
    model = ft.add_lora(base, ft.LoraSettings(r=4, alpha=8))
    trainable, total = ft.count_parameters(model)
    assert trainable == 2 * (4 * (16 + 16) + 4 * (16 + 8))  # 2 layers; q: 16->16, v: 16->8
    assert total == trainable + sum(v.numel() for k, v in frozen.items() if k != "lm_head.weight")
    with torch.no_grad():
        assert torch.allclose(ft.answer_logits(model, batch)[0], before)  # B = 0 at the start
    with pytest.raises(ValueError, match="already has LoRA"):
        ft.add_lora(model)
    seen = []
    history = ft.train_lora(model, tokenizer, ft.TrainSettings(steps=20, batch_size=4, lr=3e-2),
                            on_step=lambda h: seen.append(h.steps), show_progress=False)
    assert seen == list(range(1, 21)) and history.examples_seen == 80
    assert np.mean(history.loss[-5:]) < np.mean(history.loss[:5]) - 0.5
    assert not model.training
    for key, value in model.get_base_model().state_dict().items():
        if "lora_" not in key:
            assert torch.equal(value, frozen[key.replace(".base_layer", "")]), key
    quick = ft.train_lora(model, tokenizer, ft.TrainSettings(steps=50, max_seconds=1e-6),
                          show_progress=False)
    assert quick.steps == 1
    with pytest.raises(ValueError, match="add_lora"):
        ft.train_lora(tiny_model(), tokenizer, show_progress=False)


def test_adapter_files_round_trip_with_their_metadata(tokenizer, tmp_path):
    model = ft.add_lora(tiny_model(), ft.LoraSettings(r=2, target_modules=("q_proj", "o_proj")))
    ft.train_lora(model, tokenizer, ft.TrainSettings(steps=3, batch_size=2, lr=1e-2),
                  show_progress=False)
    path = ft.save_adapter(tmp_path / "a.safetensors", model, ft.LoraSettings(
        r=2, target_modules=("q_proj", "o_proj")), record={"command": "x", "steps": 3})
    tensors, settings, record = ft.read_adapter(path)
    assert settings == ft.LoraSettings(r=2, target_modules=("q_proj", "o_proj"))
    assert record == {"command": "x", "steps": 3} and len(tensors) == 2 * 2 * 2
    assert path.stat().st_size < 10_000
    loaded, _ = ft.load_adapter(tiny_model(), path)  # a fresh copy of the same base weights
    batch = ft.encode_examples(tokenizer, ft.make_examples(3, seed=1))
    with torch.no_grad():
        assert torch.equal(ft.answer_logits(loaded, batch)[0], ft.answer_logits(model, batch)[0])
    with pytest.raises(ValueError, match="does not fit"):
        ft.load_adapter(tiny_model(hidden=32), path)
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a LoRA adapter"):
        ft.read_adapter(tmp_path / "other.safetensors")
    with pytest.raises(FileNotFoundError):
        ft.read_adapter(tmp_path / "missing.safetensors")


def test_command_line_trains_and_records_its_command(tokenizer, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(smollm2, "load_hf_model", lambda: (tiny_model(), tokenizer))
    out = tmp_path / "cli.safetensors"
    argv = ["train", "--out", str(out), "--steps", "2", "--batch-size", "2", "--quiet",
            "--threads", "1"]
    assert ft.main(argv) == 0
    _, settings, record = ft.read_adapter(out)
    assert record["command"] == "python -m course_utils.train date-lora " + " ".join(argv[1:])
    assert record["steps"] == 2 and record["heldout_size"] == 120
    assert settings == ft.LoraSettings()
    assert "trainable of" in capsys.readouterr().out


# --- the real model -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed():
    model, tokenizer, record = ft.load_pretrained_adapter()
    return model, tokenizer, record


def test_committed_adapter_is_small_and_reaches_its_recorded_accuracy(committed):
    model, tokenizer, record = committed
    path = ft.pretrained_adapter_path()
    assert path.stat().st_size < 4 * 2**20
    assert record["command"].startswith("python -m course_utils.train date-lora --out ")
    result = ft.evaluate(model, tokenizer, ft.heldout_examples())
    assert abs(result.accuracy - record["heldout_accuracy"]) <= 1 / 120 + 1e-9
    assert abs(result.mean_loss - record["heldout_loss"]) < 0.01
    assert result.accuracy >= 0.9
    assert record["heldout_accuracy_before"] <= 0.15  # the base model, measured by the CLI


def test_teacher_forced_exact_match_is_what_greedy_decoding_writes(committed):
    model, tokenizer, _ = committed
    heldout = ft.heldout_examples()
    examples = heldout[:6] + [e for e in heldout if e.format == "2021/03/05"][:3]
    verdicts = []
    for adapter_on in (True, False):
        if adapter_on:
            scored = ft.evaluate(model, tokenizer, examples).correct
            written = ft.generate_answers(model, tokenizer, [e.text for e in examples], 16)
        else:
            with model.disable_adapter():
                scored = ft.evaluate(model, tokenizer, examples).correct
                written = ft.generate_answers(model, tokenizer, [e.text for e in examples], 16)
        generated = np.array([w == e.answer for w, e in zip(written, examples)])
        assert (scored == generated).all(), list(zip(written, scored))
        verdicts += scored.tolist()
    assert True in verdicts and False in verdicts  # both outcomes were checked
    with pytest.raises(ValueError, match="non-empty list"):
        ft.generate_answers(model, tokenizer, [])
    with pytest.raises(ValueError, match="empty"):
        ft.generate_answer(model, tokenizer, "  ")


def test_evaluate_with_worked_examples_scores_the_same_answers_and_refuses_overlap(tokenizer):
    model = tiny_model()
    examples = ft.make_examples(4, seed=11)
    shots = ft.few_shot_examples(seed=0)
    plain = ft.evaluate(model, tokenizer, examples)
    shown = ft.evaluate(model, tokenizer, examples, shots=shots)
    assert len(shown.correct) == len(plain.correct) == 4
    assert not np.allclose(shown.loss, plain.loss)  # the prompt changed, so did the loss
    with pytest.raises(ValueError, match="share dates"):
        ft.evaluate(model, tokenizer, examples, shots=examples[:1])
