"""JSON-object arguments: inline (however long), or a file; errors name the flag."""

import json

import pytest

from shiftlab.commands.json_args import json_object
from shiftlab.errors import UserError


def test_long_inline_object_is_never_taken_for_a_path(tmp_path):
    value = {"transforms": {f"t{i}": {"factor": 1.5} for i in range(40)}}
    text = json.dumps(value)
    assert len(text) > 300  # longer than a file name may be
    assert json_object(text, "--params-json") == value


def test_file_and_errors(tmp_path):
    path = tmp_path / "entry.json"
    path.write_text('{"kind": "imagenet_c"}')
    assert json_object(str(path), "--benchmark-json") == {"kind": "imagenet_c"}
    with pytest.raises(
        UserError, match=r"--benchmark-json: .* neither a JSON object nor a JSON file"
    ):
        json_object(str(tmp_path / "missing.json"), "--benchmark-json")
    with pytest.raises(UserError, match="--model-json is not valid JSON"):
        json_object("{nope", "--model-json")
    listing = tmp_path / "list.json"
    listing.write_text("[1]")
    with pytest.raises(UserError, match="--recipe-json must be a JSON object"):
        json_object(str(listing), "--recipe-json")
