"""Chapter 10 helpers: model inspection tables, held-out passages, the conversation and the
streaming chat widget (with a fake model), speed measurements, and short real runs of SmolLM2."""

from __future__ import annotations

import os

import pytest
import torch

from course_utils.llm import chat, smollm2
from course_utils.text.transformer import GPTConfig, TinyGPT

# --- what is inside ------------------------------------------------------------------------


@pytest.mark.parametrize("name, component", [
    ("blocks.0.ln1.weight", "norms"), ("ln_f.bias", "norms"), ("tok_emb.weight", "token embedding"),
    ("pos_emb.weight", "position embedding"), ("blocks.3.attn.qkv.weight", "attention"),
    ("blocks.3.attn.proj.bias", "attention"), ("blocks.1.mlp.up.weight", "MLP"),
    ("head.weight", "output head"),
    ("model.embed_tokens.weight", "token embedding"),
    ("model.layers.7.self_attn.k_proj.weight", "attention"),
    ("model.layers.7.input_layernorm.weight", "norms"),
    ("model.layers.7.post_attention_layernorm.weight", "norms"),
    ("model.layers.7.mlp.gate_proj.weight", "MLP"), ("model.norm.weight", "norms"),
    ("lm_head.weight", "output head"),
    ("token_embd.weight", "token embedding"), ("blk.0.attn_norm.weight", "norms"),
    ("blk.0.attn_output.weight", "attention"), ("blk.0.ffn_down.weight", "MLP"),
    ("output_norm.weight", "norms"), ("output.weight", "output head"),
])
def test_tensor_names_of_three_naming_schemes_map_to_components(name, component):
    assert chat.component_of(name) == component


def test_an_unknown_tensor_name_is_a_clear_error():
    with pytest.raises(ValueError, match="which part of the model"):
        chat.component_of("rotary.inv_freq")


def test_parameters_of_a_tiny_gpt_by_component_golden():
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16))
    table = chat.parameters_by_component(model)
    # per block: attention qkv 16*48+48 + proj 16*16+16 = 1088; MLP 16*64+64 + 64*16+16 = 2128;
    # two LayerNorms 2*(16+16) = 64; plus ln_f 32; embeddings 10*16 and 8*16; tied head: 0
    assert table["parameters"].to_dict() == {
        "norms": 160, "token embedding": 160, "position embedding": 128, "MLP": 4256,
        "attention": 2176, "output head": 0}
    assert table["parameters"].sum() == model.num_parameters() == 6880
    assert table["share"].sum() == pytest.approx(1.0)


def test_parameters_of_a_small_llama_count_the_untied_head():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=24,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=False)
    table = chat.parameters_by_component(LlamaForCausalLM(config))["parameters"]
    # attention per layer: q, o 16x16 and k, v 16x8 (2 KV heads of size 4) -> 768
    assert table["attention"] == 2 * (2 * 256 + 2 * 128)
    assert table["MLP"] == 2 * 3 * 16 * 24 and table["norms"] == 2 * 2 * 16 + 16
    assert table["token embedding"] == table["output head"] == 50 * 16
    assert table["position embedding"] == 0  # rotary positions have no parameters
    facts = chat.describe_llama(config)
    assert (facts["key/value heads"], facts["head size"]) == (2, 4)
    assert facts["KV cache values per token"] == 2 * 2 * 2 * 4


def test_sizes_can_be_given_as_shapes_and_bad_sizes_are_rejected():
    table = chat.parameters_by_component({"token_embd.weight": (4, 3), "blk.0.ffn_up.weight": 5})
    assert table.loc["token embedding", "parameters"] == 12 and table.loc["MLP", "parameters"] == 5
    with pytest.raises(ValueError, match="non-empty mapping"):
        chat.parameters_by_component({})
    with pytest.raises(ValueError, match=">= 0"):
        chat.parameters_by_component({"tok_emb.weight": -1})
    with pytest.raises(ValueError, match="no parameters"):
        chat.parameters_by_component({"tok_emb.weight": 0})


def test_describe_tiny_gpt_and_kv_cache_size():
    facts = chat.describe_tiny_gpt(GPTConfig(vocab_size=94, n_layer=4, n_head=4, n_embd=128))
    assert facts["head size"] == 32 and facts["vocabulary"] == 94
    assert facts["KV cache values per token"] == 2 * 4 * 4 * 32
    assert set(facts) == set(chat.describe_llama(_smollm2_config()))
    assert chat.kv_cache_values_per_token(30, 3, 64) == 11_520
    with pytest.raises(ValueError, match="kv_heads"):
        chat.kv_cache_values_per_token(30, 0, 64)


def _smollm2_config():
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536,
                       num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                       max_position_embeddings=8192, tie_word_embeddings=True)


def test_gguf_storage_of_the_real_file():
    table = chat.gguf_storage()
    by_type = table.groupby(level="type")["bits per weight"].first()
    assert by_type["Q4_1"] == pytest.approx(5.0) and by_type["Q8_0"] == pytest.approx(8.5)
    assert by_type["F32"] == pytest.approx(32.0)
    assert table["parameters"].sum() == 134_515_008  # SmolLM2-135M, tied head counted once
    assert table.loc[("token embedding", "Q8_0"), "parameters"] == 49152 * 576
    assert 90e6 < table["bytes"].sum() < 100e6 < 500e6 < table["float32 bytes"].sum()
    with pytest.raises(ValueError, match="No GGUF file"):
        chat.gguf_storage("/nonexistent/model.gguf")


# --- held-out passages -----------------------------------------------------------------------

TEXT = "".join(f"Line {i:03d} says something about item {i}.\n" for i in range(200))


def test_passages_are_evenly_spaced_disjoint_line_starts():
    passages = chat.held_out_passages(TEXT, n=5, length=300)
    assert len(passages) == 5
    positions = [TEXT.index(p) for p in passages]
    assert positions == sorted(positions) and positions[0] == 0
    for p, start in zip(passages, positions):
        assert 150 < len(p) <= 300 and p.startswith("Line ")  # a line start
        assert start == 0 or TEXT[start - 1] == "\n"
    for (a, pa), b in zip(zip(positions, passages), positions[1:]):
        assert a + len(pa) <= b  # no overlap
    assert positions[-1] + len(passages[-1]) > len(TEXT) - 400  # reaches the end of the text
    assert chat.held_out_passages(TEXT, n=1, length=100) == [TEXT[:100].rsplit(" ", 1)[0]]


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be >= 1"), ({"length": 10}, "length must be >= 50"),
    ({"n": 100, "length": 500}, "the text has"),
])
def test_bad_passage_requests(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chat.held_out_passages(TEXT, **kwargs)
    with pytest.raises(ValueError, match="empty"):
        chat.held_out_passages("")


# --- conversation with a fake model ----------------------------------------------------------

class FakeModel:
    """Answers "echo <n>: <last message>" in three streamed pieces; 4 characters = 1 token."""

    n_ctx = 200

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def complete(self, prompt, *, max_tokens, temperature, seed, on_token=None, **settings):
        last = prompt.rsplit("<|im_start|>user\n", 1)[1].split("<|im_end|>")[0]
        self.calls.append({"prompt": prompt, "seed": seed, "temperature": temperature,
                           "max_tokens": max_tokens, **settings})
        pieces = ["echo ", f"{len(self.calls)}: ", last[:10]]
        for piece in pieces:
            if on_token is not None:
                on_token(piece)
        return smollm2.Completion("".join(pieces), self.count_tokens(prompt), len(pieces), 0.01,
                              "stop")


def test_conversation_keeps_history_and_replays_seeds():
    model = FakeModel()
    talk = chat.Conversation(model, system="Be brief.")
    first = talk.send("Hello there", max_tokens=20)
    talk.send("  Second message  ", max_tokens=20)
    assert first.text == "echo 1: Hello ther"
    assert [t["role"] for t in talk.history] == ["user", "assistant"] * 2
    assert talk.history[2]["content"] == "Second message"  # stripped
    second_prompt = model.calls[1]["prompt"]
    assert second_prompt == smollm2.chat_prompt(talk.history[:3], system="Be brief.")
    assert [c["seed"] for c in model.calls] == [0, 1]  # the turn number
    talk.reset()
    assert talk.history == [] and talk.system == "Be brief."


def test_conversation_system_prompt_default_and_blank():
    assert chat.Conversation(FakeModel()).system == smollm2.DEFAULT_SYSTEM
    talk = chat.Conversation(FakeModel(), system="   ")
    assert talk.system is None
    talk.send("Hi", max_tokens=5)
    assert "<|im_start|>system" not in talk.last_prompt


def test_old_exchanges_are_left_out_when_the_window_is_full():
    model = FakeModel()
    talk = chat.Conversation(model, system="Be brief.")
    for i in range(8):
        talk.send(f"message number {i} " + "words " * 6, max_tokens=100)
    assert len(talk.history) == 16  # everything is remembered ...
    assert talk.left_out > 0  # ... but not everything fits in the prompt
    assert "message number 7" in talk.last_prompt and "message number 0" not in talk.last_prompt
    assert model.count_tokens(talk.last_prompt) + 100 <= model.n_ctx
    assert "left out" in talk.to_html()


@pytest.mark.parametrize("message, match", [
    ("", "empty"), ("   \n ", "empty"), (None, "empty"), ("x" * 51, "too long.*limit is 50"),
])
def test_bad_messages_leave_the_history_unchanged(message, match):
    talk = chat.Conversation(FakeModel(), max_message_chars=50)
    talk.send("fine", max_tokens=5)
    with pytest.raises(ValueError, match=match):
        talk.send(message)
    assert len(talk.history) == 2


def test_a_message_that_cannot_fit_and_bad_settings():
    talk = chat.Conversation(FakeModel(), max_message_chars=5000)
    with pytest.raises(ValueError, match="context window of 200"):
        talk.send("word " * 150, max_tokens=50)
    with pytest.raises(ValueError, match="temperature"):
        talk.send("Hi", temperature=-1)
    with pytest.raises(ValueError, match="max_tokens"):
        talk.send("Hi", max_tokens=0)
    with pytest.raises(ValueError, match="lacks.*count_tokens"):
        chat.Conversation(object())
    assert talk.history == []


def test_transcript_escapes_html():
    talk = chat.Conversation(FakeModel(), system=None)
    talk.send("<script>alert(1)</script>", max_tokens=5)
    page = talk.to_html(pending_user="<b>next</b>", pending="so far")
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;next" in page
    assert "so far\u258c" in page


# --- the widget ------------------------------------------------------------------------------

def test_chat_widget_streams_reports_bad_input_and_resets():
    model = FakeModel()
    widget = chat.ChatWidget(model, system="Be brief.", max_message_chars=40)
    seen = []
    widget.transcript.observe(lambda change: seen.append(change["new"]), names="value")
    assert widget.say("What is a foundation model?")
    assert widget.panel.controls["message"].value == ""  # cleared after sending
    streamed = [v for v in seen if "\u258c" in v]
    assert len(streamed) == 3 and "echo 1: " in streamed[1]  # one update per piece
    final = widget.transcript.value
    assert "echo 1: What is a</div>" in final and "\u258c" not in final
    assert widget.last.finish_reason == "stop"

    assert not widget.say("")  # empty: a message, nothing sent
    assert "empty" in widget.panel.status.value and len(model.calls) == 1
    assert not widget.say("y" * 41)
    assert "too long" in widget.panel.last_error
    assert widget.panel.controls["message"].value == "y" * 41  # kept for editing

    widget.panel.controls["system"].value = ""
    widget.panel.controls["temperature"].value = 0.5
    widget.panel.controls["repeat_penalty"].value = 1.2
    assert widget.say("Still there?")  # works again, with the new settings
    assert widget.panel.last_error is None and model.calls[-1]["temperature"] == 0.5
    assert model.calls[-1]["repeat_penalty"] == 1.2
    assert "<|im_start|>system" not in model.calls[-1]["prompt"]
    assert len(widget.conversation.history) == 4

    widget.reset_button.click()
    assert widget.conversation.history == [] and "no messages yet" in widget.transcript.value
    children = widget.widget.children
    assert children[1] is widget.transcript and widget.panel.status in children


# --- speed -----------------------------------------------------------------------------------

def test_performance_table_flags_targets():
    rows = [{"path": "fast", "cached load (s)": 0.3, "tokens/s": 80.0},
            {"path": "slow", "cached load (s)": 2.5, "tokens/s": 15.0}]
    table = chat.performance_table(rows, chat.SpeedTargets(ready_s=2.0, tokens_per_s=60.0))
    assert table["ready <= 2 s"].tolist() == [True, False]
    assert table[">= 60 tokens/s"].tolist() == [True, False]
    with pytest.raises(ValueError, match="No measurements"):
        chat.performance_table([])
    with pytest.raises(ValueError, match="tokens/s"):
        chat.performance_table([{"path": "x", "cached load (s)": 1.0}])


def test_first_load_is_measured_in_a_temporary_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    seen = []

    def fake_load():
        seen.append(os.environ["COURSE_CACHE_DIR"])
        return "model", "tokenizer"

    monkeypatch.setattr(smollm2, "load_hf_model", fake_load)
    assert chat.first_load_seconds() >= 0
    assert seen and seen[0] != str(tmp_path) and not os.path.exists(seen[0])  # removed
    assert os.environ["COURSE_CACHE_DIR"] == str(tmp_path)  # restored

    def failing_load():
        raise RuntimeError("disk full")

    monkeypatch.setattr(smollm2, "load_hf_model", failing_load)
    with pytest.raises(RuntimeError, match="disk full"):
        chat.first_load_seconds()
    assert os.environ["COURSE_CACHE_DIR"] == str(tmp_path)


def test_inspection_path_timing_restores_the_thread_count(monkeypatch):
    seen = []

    def fake_generate(model, tokenizer, prompt, max_new_tokens):
        seen.append(torch.get_num_threads())
        return smollm2.Completion("x" * max_new_tokens, 5, max_new_tokens, 0.5, "length")

    monkeypatch.setattr(smollm2, "load_hf_model", lambda: ("model", "tokenizer"))
    monkeypatch.setattr(smollm2, "hf_generate", fake_generate)
    before = torch.get_num_threads()
    row = chat.measure_inspection_path(n_threads=1, max_tokens=6, first_load_s=12.0)
    assert seen == [1, 1] and torch.get_num_threads() == before
    assert row["tokens/s"] == 12.0 and row["tokens"] == 6 and row["first load ever (s)"] == 12.0
    assert row["path"] == "transformers, float32, 1 thread(s)"
    with pytest.raises(ValueError, match="n_threads"):
        chat.measure_inspection_path(n_threads=0)


# --- real model --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_model():
    return smollm2.load_smollm2(n_ctx=512, n_threads=1)


def test_a_real_two_turn_conversation(real_model):
    talk = chat.Conversation(real_model, system="")
    pieces = []
    answer = talk.send("What is the capital of France?", max_tokens=16, on_token=pieces.append)
    assert "Paris" in answer.text and "".join(pieces) == answer.text
    talk.send("Say that again.", max_tokens=4)
    assert "What is the capital of France?" in talk.last_prompt
    assert talk.last_prompt.count("<|im_start|>assistant") == 2


def test_measure_fast_path_reloads_and_times():
    row = chat.measure_fast_path(n_threads=1, max_tokens=8)
    assert row["threads"] == 1 and 0 < row["cached load (s)"] < 30
    assert row["tokens"] == 8 and row["tokens/s"] > 0
