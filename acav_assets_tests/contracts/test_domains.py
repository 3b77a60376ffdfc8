"""Domain codes and part letters."""

from acav_assets.contracts.domains import (
    DOMAINS,
    PARTS,
    domain_code,
    error_text,
    has_part,
)


def test_codes_round_trip_through_their_parts():
    for domain in DOMAINS:
        present = [has_part(domain, part) for part in PARTS]
        assert domain_code(*present) == domain
    assert not has_part(None, "speech") and has_part("S0A", "sound") and not has_part("S0A", "music")


def test_error_text_names_the_exception():
    assert error_text(ValueError("bad audio")) == "ValueError: bad audio"
