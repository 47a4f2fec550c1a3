"""The shared checkpoint reader: round trip and clear errors."""

import pytest
import torch
from safetensors.torch import save_file

from course_utils.core.checkpoints import read_checkpoint


def test_round_trip_and_missing_metadata(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"w": torch.arange(3.0)}, str(path), metadata={"config": "{}", "record": "{}"})
    tensors, metadata = read_checkpoint(path, "toy", "make toy")
    assert torch.equal(tensors["w"], torch.arange(3.0)) and metadata["config"] == "{}"
    with pytest.raises(ValueError, match="not a toy checkpoint .*no schedule"):
        read_checkpoint(path, "toy", "make toy", required=("config", "schedule"))


def test_missing_file_names_the_training_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="train it with `make toy`"):
        read_checkpoint(tmp_path / "absent.safetensors", "toy", "make toy")
