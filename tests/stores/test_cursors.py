"""Cursors: the question cursor's hand-written JSON is the JSON the generic encoder writes,
so cursors handed out before still page on, and every one decodes to its position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.model import StoreName
from gateway.stores.cursors import TimePosition, _encode

times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


@given(times, st.sampled_from(list(StoreName)), st.text(min_size=1))
def test_a_time_position_encodes_as_the_generic_encoder_would(
    at: datetime, store: StoreName, ident: str
) -> None:
    position = TimePosition(at, store, ident)
    cursor = position.encode()
    assert cursor == _encode({"t": at.isoformat(), "s": store.value, "i": ident})
    assert TimePosition.decode(cursor) == position
