import pytest

from acav_assets.ingest.clip_keys import (
    ClipKeyError,
    format_seconds,
    make_clip_key,
    parse_clip_key,
    sanitize_source_id,
)


@pytest.mark.parametrize(
    "key, source_id, start, end",
    [
        ("wo8sFEF7sWM_166_48_176_48", "wo8sFEF7sWM", 166.48, 176.48),
        ("sxIdgHIUKhI_0_0_10", "sxIdgHIUKhI", 0.0, 10.0),
        ("tFg4IwL09Rk_111_64000000000001_121_64", "tFg4IwL09Rk", 111.64000000000001, 121.64),
        ("oddTck1I2FA_424_8125_434_812", "oddTck1I2FA", 424.8125, 434.812),
        ("GBp7XMt11uw_0_22189999999999976_10_2219", "GBp7XMt11uw", 0.22189999999999976, 10.2219),
        # YouTube ids may themselves contain '_': cut them by length, not at the first '_'.
        ("a_b_c_d_e_f_12_5_22_5", "a_b_c_d_e_f", 12.5, 22.5),
        ("__x__y__z___3_13", "__x__y__z__", 3.0, 13.0),
    ],
)
def test_parses_published_keys(key, source_id, start, end):
    parsed = parse_clip_key(key)
    assert (parsed.source_id, parsed.start, parsed.end) == (source_id, start, end)


def test_round_trip_of_our_keys():
    for source, start, end in [("demo-speech-en-01", 0.0, 10.0), ("abc", 2.5, 9.5), ("x_y", 120.125, 130.125)]:
        key = make_clip_key(source, start, end)
        assert "." not in key
        parsed = parse_clip_key(key, source_id_length=None)
        assert (parsed.source_id, parsed.start, parsed.end) == (source, start, end)


def test_format_seconds_and_key_text():
    assert format_seconds(10.0) == "10"
    assert format_seconds(166.48) == "166.48"
    assert format_seconds(0) == "0"
    assert make_clip_key("wo8sFEF7sWM", 166.48, 176.48) == "wo8sFEF7sWM_166_48_176_48"


def test_bad_keys_and_ids():
    with pytest.raises(ClipKeyError):
        parse_clip_key("short_1_2")
    with pytest.raises(ClipKeyError):
        parse_clip_key("wo8sFEF7sWM_abc_def")
    with pytest.raises(ClipKeyError):
        make_clip_key("x", 5.0, 5.0)
    with pytest.raises(ClipKeyError):
        sanitize_source_id("...")
    assert sanitize_source_id("café ü.take 2") == "caf-take-2"
