"""Which district a sub-district code names (fangcang.divisions)."""

from __future__ import annotations

from fangcang.divisions import district_code, districts_in, unplaced


def test_district_code_is_the_county_prefix_of_a_standard_code():
    assert district_code("330302006") == "330302"
    assert district_code("330303024001") == "330303"
    for local in ("SDA", "NT01", "3303020", "33030200x", "", None):
        assert district_code(local) == ""
    assert districts_in(["330302006", "330303024", "NT01"]) == ["330302", "330303"]


def test_unplaced_only_when_codes_mix():
    assert unplaced(["330302006", "WM01", "SDA"]) == ["SDA", "WM01"]
    assert unplaced(["WM01", "SDA"]) == []  # one unnamed district: nothing unplaced
    assert unplaced(["330302006", "330303024"]) == []
    assert unplaced([]) == []
