"""An RPC answer over the limit is answered with a clear error instead (the service lives on)."""

from __future__ import annotations

from services.common.runtime.rpc import ServiceError, bounded_reply


def test_an_answer_within_the_limit_goes_as_it_is() -> None:
    result = {"items": ["a" * 10]}
    assert bounded_reply(result, None, "json", limit=100) == (result, None)


def test_an_answer_over_the_limit_becomes_reply_too_large() -> None:
    # as the RPC body's JSON (jsontext.dumps_rpc, no spaces), {"items":["xxx…"]}: '{"items":["' is 11 bytes, the
    # 200 x, '"]}' 3: 214 bytes, over 100
    result = {"items": ["x" * 200]}
    sent, exc_info = bounded_reply(result, None, "json", limit=100)
    assert sent is None
    error = exc_info[1]
    assert isinstance(error, ServiceError)
    assert (error.code, error.http_status, error.details) == (
        "reply_too_large",
        502,
        {"size_bytes": 214, "limit_bytes": 100},
    )


def test_an_error_answer_is_left_to_nameko() -> None:
    error = ValueError("boom")
    exc_info = (ValueError, error, None)
    assert bounded_reply(None, exc_info, "json", limit=1) == (None, exc_info)
