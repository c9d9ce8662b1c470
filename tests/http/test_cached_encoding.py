"""A cached answer's kept JSON is what strawberry's encoder writes for the same response."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.http.cached import Encoded, encode_response

leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
objects = st.dictionaries(st.text(), values, max_size=5)


def _compact(response: object) -> str:
    return json.dumps(response, separators=(",", ":"))


@given(objects, st.none() | objects)
def test_the_kept_json_is_strawberrys_json(data: dict[str, Any], extensions: Any) -> None:
    response: dict[str, Any] = {"data": Encoded(data, _compact(data))}
    if extensions:
        response["extensions"] = extensions
    assert encode_response(response) == _compact(response)


def test_other_responses_are_left_to_strawberry() -> None:
    data = Encoded({"a": 1}, '{"a":1}')
    assert encode_response({"data": {"a": 1}}) is None  # not kept encoded
    assert encode_response({"data": data, "errors": []}) is None
    assert encode_response([{"data": data}]) is None  # a batch
