import pytest

from acav_assets.io.url_redaction import redact_text, redact_url


@pytest.mark.parametrize(
    "url, redacted",
    [
        ("s3://bucket/a/b.wav?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc123",
         "s3://bucket/a/b.wav?<redacted>"),
        ("https://user:pass@host.example:8443/a.wav?sig=abc123&token=tok",
         "https://host.example:8443/a.wav?<redacted>"),
        ("https://token@host/a.wav", "https://host/a.wav?<redacted>"),
        ("https://acct.blob.core.windows.net/c/a.wav?sv=2022&se=2030&sr=b&sp=r&sig=abc123",
         "https://acct.blob.core.windows.net/c/a.wav?<redacted>"),
        ("gs://b/a.flac#X-Goog-Signature=abc123", "gs://b/a.flac?<redacted>"),
        ("https://host/a.wav?", "https://host/a.wav?<redacted>"),
        ("https://host/a.wav", "https://host/a.wav"),
        ("s3://bucket/key.mp3", "s3://bucket/key.mp3"),
        ("memory:///a.wav", "memory:///a.wav"),
        ("file:///data/café ü.wav", "file:///data/café ü.wav"),
        ("/data/a.wav", "/data/a.wav"),
        ("relative/a b.wav", "relative/a b.wav"),
        ("", ""),
    ],
)
def test_redact_url(url, redacted):
    assert redact_url(url) == redacted
    assert "abc123" not in redact_url(url) and "pass" not in redact_url(url)
    assert redact_url(redacted) == redacted  # idempotent


def test_redact_text_finds_urls_and_bare_parameters():
    text = ("failed to open 'https://u:pw@h/a.wav?X-Amz-Signature=abc123' (HTTP 500); "
            "retry with X-Amz-Security-Token=tok456&sig=abc123 or token=tok456")
    clean = redact_text(text)
    assert "abc123" not in clean and "tok456" not in clean and "pw@" not in clean
    assert "'https://h/a.wav?<redacted>'" in clean and "HTTP 500" in clean
    assert redact_text("no secrets in /data/a.wav: 3.0 s") == "no secrets in /data/a.wav: 3.0 s"
