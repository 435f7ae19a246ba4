"""Fuzzing protocol v1 parsing: any text a client sends becomes a message or a
``ProtocolError`` whose text is short and sendable, and unknown fields never matter."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cojam.live.protocol import (
    MAX_ERROR_CHARS,
    MESSAGE_TYPES,
    ProtocolError,
    error_message,
    parse_client_message,
)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=20) | st.sampled_from(["\ud800", "9" * 5000]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
GOOD = {
    "start": {"v": 1, "type": "start", "seed": 3},
    "note_on": {"v": 1, "type": "note_on", "pitch": 60, "beat": 1.0},
    "note_off": {"v": 1, "type": "note_off", "pitch": 60, "beat": 1.5},
    "tick": {"v": 1, "type": "tick", "beat": 2.0},
    "stop": {"v": 1, "type": "stop"},
}


def _parse(text: str):
    try:
        return parse_client_message(text)
    except ProtocolError as e:
        reply = json.dumps(error_message(str(e), e.ref), ensure_ascii=False)
        reply.encode("utf-8")  # what the server sends must encode
        assert len(str(e)) <= MAX_ERROR_CHARS
        return e


@FUZZ
@given(st.text(max_size=300))
def test_any_text_is_a_message_or_a_protocol_error(text):
    _parse(text)


@FUZZ
@given(st.dictionaries(st.sampled_from(["v", "type", "pitch", "beat", "tempo", "model",
                                        "seed", "commit", "lookahead"]), VALUES, max_size=6))
def test_any_object_with_known_field_names_is_a_message_or_a_protocol_error(fields):
    _parse(json.dumps(fields))


@FUZZ
@given(st.sampled_from(sorted(GOOD)),
       st.dictionaries(st.text(min_size=1, max_size=10).filter(
           lambda name: name not in {"v", "type", "pitch", "beat", "tempo", "beats_per_bar",
                                     "lookahead", "commit", "count_in", "model",
                                     "temperature", "seed", "listen", "harmonic_rhythm",
                                     "token"}), VALUES, max_size=4))
def test_unknown_fields_never_change_a_good_message(kind, extra):
    message = parse_client_message(json.dumps(GOOD[kind]))
    assert parse_client_message(json.dumps({**GOOD[kind], **extra})) == message
    assert type(message) is MESSAGE_TYPES[kind]
