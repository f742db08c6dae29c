"""URL redaction keeps everything but the key."""

from __future__ import annotations

from quant_assets.connectors.redact import REDACTED, redact_url


def test_repeated_parameters_survive_and_the_key_does_not():
    url = "https://api.example.com/v2/bars?symbols=AAA&symbols=BBB&apikey=not-a-real-key&limit="
    assert redact_url(url) == f"https://api.example.com/v2/bars?symbols=AAA&symbols=BBB&apikey={REDACTED}&limit="
