"""HTML/markdown escaping, upload checks and zip-slip-proof extraction."""

from __future__ import annotations

import stat
import zipfile

import pytest

from fangcang import privacy
from fangcang.websafe import UploadError, check_upload, escape, escape_markdown, safe_extract

XSS = "<img src=x onerror=alert(1)>"


def test_escape_neutralises_html():
    assert escape(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape('"><script>alert(1)</script>') == (
        "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert escape("沿江社区 & 'x'") == "沿江社区 &amp; &#x27;x&#x27;"
    assert escape(None) == "" and escape(12) == "12"
    assert privacy.escape is escape  # also reachable as fangcang.privacy.escape


def test_escape_markdown_neutralises_links_images_and_html():
    out = escape_markdown("![a](http://evil/x.png) [b](javascript:alert(1)) " + XSS)
    assert "](" not in out.replace("\\](", "").replace("\\(", "")
    assert "<img" not in out and "&lt;img" in out
    assert escape_markdown("陈*华\n下一行") == "陈\\*华 下一行"


def test_check_upload():
    assert check_upload("people.CSV", b"person_id,name\n") == ".csv"
    assert check_upload("C:\\Users\\x\\b.xlsx", b"PK\x03\x04rest") == ".xlsx"
    with pytest.raises(UploadError, match="type .exe is not accepted"):
        check_upload("evil.exe", b"MZ")
    with pytest.raises(UploadError, match="empty"):
        check_upload("a.csv", b"")
    with pytest.raises(UploadError, match="over the 1 MB upload limit"):
        check_upload("a.csv", b"x" * (1024 * 1024 + 1), limit_mb=1)
    with pytest.raises(UploadError, match="not a .xlsx file"):
        check_upload("a.xlsx", b"id,name\n")
    with pytest.raises(UploadError, match="not a .csv file"):
        check_upload("a.csv", b"\x00\x01binary")


def test_check_upload_reads_limit_from_settings(monkeypatch):
    monkeypatch.setenv("FANGCANG_UPLOAD_LIMIT_MB", "1")
    with pytest.raises(UploadError, match="1 MB"):
        check_upload("a.csv", b"y" * (2 * 1024 * 1024))


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_safe_extract_writes_inside_dest(tmp_path):
    z = _zip(tmp_path / "b.zip", {"bundle/people.csv": "a,b\n", "bundle/sub/houses.csv": "c\n"})
    out = safe_extract(z, tmp_path / "dest")
    assert sorted(p.relative_to(tmp_path / "dest").as_posix() for p in out) == [
        "bundle/people.csv",
        "bundle/sub/houses.csv",
    ]


@pytest.mark.parametrize(
    "bad", ["../evil.csv", "a/../../evil.csv", "/etc/evil.csv", "C:/evil.csv", "..\\evil.csv"]
)
def test_safe_extract_refuses_escaping_members_and_writes_nothing(tmp_path, bad):
    z = _zip(tmp_path / "b.zip", {"ok.csv": "x\n", bad: "pwned"})
    with pytest.raises(UploadError, match="outside the bundle folder"):
        safe_extract(z, tmp_path / "dest")
    assert not (tmp_path / "evil.csv").exists()
    assert not (tmp_path / "dest" / "ok.csv").exists()  # checked before anything is written


def test_safe_extract_refuses_links_bombs_and_non_zips(tmp_path):
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UploadError, match="is a link"):
        safe_extract(z, tmp_path / "d1")
    bomb = _zip(tmp_path / "bomb.zip", {"big.csv": "0" * 5_000_000})
    with pytest.raises(UploadError, match="zip bomb"):
        safe_extract(bomb, tmp_path / "d2")
    many = _zip(tmp_path / "many.zip", {f"f{i}.csv": "x" for i in range(5)})
    with pytest.raises(UploadError, match="over the limit of 3"):
        safe_extract(many, tmp_path / "d3", max_members=3)
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    with pytest.raises(UploadError, match="not a valid zip"):
        safe_extract(tmp_path / "fake.zip", tmp_path / "d4")


def test_escape_markdown_keeps_bare_addresses_from_becoming_links():
    out = escape_markdown("王 http://127.0.0.1:9/leak www.evil.example")
    assert "://" not in out and "www\\." not in out  # a zero-width space breaks autolinking
    assert (
        out.replace("\u200b", "").replace("\\", "") == "王 http://127.0.0.1:9/leak www.evil.example"
    )
