"""uuencoded and yEnc files inside text parts, listed as virtual attachments."""

from __future__ import annotations

import binascii
import gc
import time
import zlib
from pathlib import Path

import pytest
from conftest import CORPUS, SHARED_CORPUS

import mimekit
from mimekit import DefectKind
from mimekit.tree._embedded import EmbeddedPart

YENC = CORPUS / "mimekit" / "yenc"
PHOTO = SHARED_CORPUS / "mimekit" / "encoders"
LEGACY = SHARED_CORPUS / "stalwart-mail-parser" / "eml" / "legacy"
needs_photo = pytest.mark.skipif(not PHOTO.is_dir(),
                                 reason="GMime-derived photo.uu lives only in ../shared")
needs_legacy = pytest.mark.skipif(not LEGACY.is_dir(),
                                  reason="stalwart's legacy corpus lives only in ../shared")


def uuencode(data: bytes, name: str = "f.bin", nl: bytes = b"\n") -> bytes:
    lines = [b"begin 644 " + name.encode("latin-1")]
    lines += [binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n") for i in range(0, len(data), 45)]
    return nl.join([*lines, b"`", b"end", b""])


def text_message(body: bytes, headers: bytes = b"Content-Type: text/plain\r\n") -> bytes:
    return b"From: a@b.example\r\nSubject: files\r\n" + headers + b"\r\n" + body


def _body(path: Path) -> bytes:
    return mimekit.parse(path.read_bytes()).get_bytes()


def test_yenc_single_part() -> None:
    raw = (YENC / "simple.msg").read_bytes()
    msg = mimekit.parse(raw)
    [att] = msg.attachments
    assert isinstance(att, EmbeddedPart) and att.embedded_in is msg
    assert att.filename == "testfile.txt" and att.content_type.mime_type == "text/plain"
    assert att.disposition == "attachment" and att.transfer_encoding == "binary"
    data = att.get_bytes()
    assert len(data) == 584 and zlib.crc32(data) == 0xDED29F4F
    assert att.defects == ()
    # The tree is untouched: same bytes, same walk, the text part keeps its text.
    assert bytes(msg) == raw and list(msg.walk()) == [msg] and msg.text_body is msg
    assert msg.embedded_in is None
    # Computed once: the same objects each time.
    assert msg.attachments[0] is att


def test_yenc_parts_in_one_message_are_joined() -> None:
    body = _body(YENC / "00000020.ntx") + b"\r\n" + _body(YENC / "00000021.ntx")
    [att] = mimekit.parse(text_message(body)).attachments
    assert att.filename == "joystick.jpg" and att.content_type.mime_type == "image/jpeg"
    assert att.get_bytes() == (YENC / "joystick.jpg").read_bytes()
    assert att.defects == ()


def test_yenc_part_alone() -> None:
    msg = mimekit.parse((YENC / "00000020.ntx").read_bytes())
    [att] = msg.attachments
    assert att.filename == "joystick.jpg"
    assert att.get_bytes() == (YENC / "joystick.jpg").read_bytes()[:11250]
    assert [d.kind for d in att.defects] == [DefectKind.YENC_PART_MISSING]
    # Joining the articles is a codec call.
    blocks = [b for path in ("00000021.ntx", "00000020.ntx")
              for b in mimekit.codecs.find_yenc(_body(YENC / path))]
    assert mimekit.codecs.join_yenc(blocks)[0] == (YENC / "joystick.jpg").read_bytes()


def test_yenc_conflicting_parts_stay_apart() -> None:
    one = _body(YENC / "00000020.ntx")
    damaged = one.replace(b"pcrc32=bfae5c0b", b"pcrc32=bfae5c0c").replace(b")", b"*", 1)
    [a, b] = mimekit.parse(text_message(one + damaged)).attachments
    assert [d.kind for d in a.defects] == [DefectKind.UUENCODE_INVALID]
    assert "part 1 is given twice" in a.defects[0].detail
    assert DefectKind.YENC_CRC_MISMATCH in {d.kind for d in b.defects}


def test_yenc_damage_is_a_defect_of_the_virtual_part() -> None:
    body = _body(YENC / "simple.msg").replace(b"crc32=ded29f4f", b"crc32=ded29f40")
    msg = mimekit.parse(text_message(body))
    [att] = msg.attachments
    assert [d.kind for d in att.defects] == [DefectKind.YENC_CRC_MISMATCH]
    assert att.all_defects() == list(att.defects)
    assert msg.all_defects() == []  # virtual parts are not in the tree


@needs_photo
def test_uuencoded_photo(tmp_path: Path) -> None:
    text = b"Here is the photo:\r\n\r\n" + (PHOTO / "photo.uu").read_bytes() + b"\r\nBob\r\n"
    msg = mimekit.parse(text_message(text))
    [att] = msg.attachments
    assert (att.filename, att.content_type.mime_type) == ("photo.jpg", "image/jpeg")
    expected = (PHOTO / "photo.jpg").read_bytes()
    assert att.get_bytes() == expected
    assert att.save(tmp_path / "out.jpg") == len(expected)
    assert (tmp_path / "out.jpg").read_bytes() == expected
    assert bytes(att).startswith(b"Content-Type: image/jpeg\r\n"
                                 b"Content-Disposition: attachment; filename=photo.jpg\r\n"
                                 b"Content-Transfer-Encoding: binary\r\n\r\n\xff\xd8")


@needs_photo
def test_uuencoded_photo_states() -> None:
    msg = mimekit.parse(text_message((PHOTO / "photo.uu-states").read_bytes()))
    assert [a.get_bytes() for a in msg.attachments] == [(PHOTO / "photo.jpg").read_bytes()]


@needs_legacy
def test_stalwart_legacy_049() -> None:
    raw = (LEGACY / "049.eml").read_bytes()
    msg = mimekit.parse(raw)
    atts = msg.attachments
    assert [(a.filename, a.content_type.mime_type) for a in atts] == [
        ("blueball.png", "image/png"), ("greenball.png", "image/png"),
        ("redball.png", "image/png")]
    assert all(a.get_bytes().startswith(b"\x89PNG\r\n\x1a\n") and a.defects == ()
               for a in atts)
    assert bytes(msg) == raw


@needs_legacy
@pytest.mark.parametrize("name", ["017.eml", "026.eml", "048.eml"])
def test_stalwart_x_uuencode_parts_are_not_searched(name: str) -> None:
    # Their uuencoded files are MIME parts (Content-Transfer-Encoding:
    # x-uuencode): attachments already, no virtual parts.
    msg = mimekit.parse((LEGACY / name).read_bytes())
    assert not any(a.embedded_in for a in msg.attachments)


def test_mime_attachments_first_then_files_in_text_order() -> None:
    text = (b"Two files:\n" + uuencode(b"first", "a.txt") + b"and\n"
            + b"=ybegin line=128 size=3 name=b.zip\nKLM\n=yend size=3\n")
    raw = (b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
           b"Content-Type: text/plain\r\n\r\n" + text + b"\r\n--x\r\n"
           b"Content-Type: application/pdf\r\n\r\n%PDF\r\n--x--\r\n")
    msg = mimekit.parse(raw)
    assert [(a.filename, a.content_type.mime_type, a.get_bytes()) for a in msg.attachments] == [
        (None, "application/pdf", b"%PDF"),
        ("a.txt", "text/plain", b"first"),
        ("b.zip", "application/zip", b"!\"#"),
    ]
    assert msg.attachments[1].embedded_in is msg.parts[0]


@pytest.mark.parametrize("headers", [
    b"Content-Type: text/html\r\n",
    b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n",
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n",
])
def test_only_text_plain_body_parts_are_searched(headers: bytes) -> None:
    msg = mimekit.parse(text_message(uuencode(b"data"), headers))
    assert not any(a.embedded_in for a in msg.attachments)


def test_encoded_text_part_is_decoded_first() -> None:
    body = mimekit.codecs.encode_base64(b"Hi\n" + uuencode(b"payload", "p.bin"))
    msg = mimekit.parse(text_message(
        body, b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n"))
    [att] = msg.attachments
    assert (att.filename, att.content_type.mime_type, att.get_bytes()) == (
        "p.bin", "application/octet-stream", b"payload")


def test_files_in_an_attached_message_belong_to_it() -> None:
    inner = text_message(uuencode(b"inner", "in.txt"))
    raw = (b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nSee attached.\r\n"
           b"--x\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--x--\r\n")
    msg = mimekit.parse(raw)
    [attached] = msg.attachments
    assert attached.message is not None
    assert [a.filename for a in attached.message.attachments] == ["in.txt"]


@pytest.mark.parametrize(("name", "charset", "shown"), [
    ("../../etc/passwd", None, "passwd"),
    ("C:\\Users\\me\\x.gz", None, "x.gz"),
    ("Fr\xf6sche.txt", "iso-8859-1", "Fr\xf6sche.txt"),
    ("a\tb.txt", None, "a_b.txt"),
    ("..", None, None),
    ("x" * 400 + ".bin", None, "x" * 251 + ".bin"),
    ("x" * 400, None, "x" * 255),
])
def test_file_names(name: str, charset: str | None, shown: str | None) -> None:
    ctype = b"Content-Type: text/plain" + (f"; charset={charset}".encode() if charset else b"")
    msg = mimekit.parse(text_message(uuencode(b"x", name), ctype + b"\r\n"))
    [att] = msg.attachments
    assert att.filename == shown and att.get_bytes() == b"x"
    assert att.defects == ()


def test_the_compressed_type_wins() -> None:
    msg = mimekit.parse(text_message(uuencode(b"x", "a.tar.gz")))
    assert msg.attachments[0].content_type.mime_type == "application/gzip"


def _seconds(lines: int) -> float:
    raw = text_message(b"begin 644 x\n" * lines)
    best = float("inf")
    for _ in range(2):
        msg = mimekit.parse(raw)
        gc.collect()
        start = time.perf_counter()
        assert msg.attachments == []
        best = min(best, time.perf_counter() - start)
    return best


def test_a_million_begin_lines_is_linear() -> None:
    assert _seconds(1_000_000) / max(_seconds(100_000), 1e-6) < 25
