"""The ``imap-fetch`` target: FETCH data a server computes from a stored
(hostile) message, read back by the client core."""

from __future__ import annotations

import random
import zlib

from mimekit.imap import (
    NEED_DATA,
    ClientConnection,
    FetchResponse,
)
from mimekit.imap._fetch_data import MessageData
from mimekit.imap._sections import SectionError
from mimekit.imap._structures import parse_bodystructure, parse_envelope

from ._common import chunkings

_SECTIONS = ("", "HEADER", "TEXT", "1", "1.MIME", "2.1", "1.HEADER", "HEADER.FIELDS (SUBJECT)",
             "HEADER.FIELDS.NOT (FROM TO)", "3.TEXT")


def run_fetch(data: bytes) -> set[object]:
    """FETCH data a server computes from a stored (hostile) message:
    ENVELOPE, BODYSTRUCTURE, BODY, sections (SectionError only for a bad
    spec); written as a FETCH response and read back by the client core,
    whose parsers must understand every structure our server wrote."""
    features: set[object] = set()
    md = MessageData(data)
    items: dict[str, object] = {
        "ENVELOPE": md.envelope(), "BODYSTRUCTURE": md.body_structure(), "BODY": md.body(),
        "RFC822.SIZE": md.rfc822_size,
    }
    rng = random.Random(zlib.crc32(data))
    for spec in rng.sample(_SECTIONS, 3):
        try:
            items[f"BODY[{spec}]"] = md.section(spec, rng.choice((None, 0, 5)),
                                                rng.choice((None, 10)))
        except SectionError:
            features.add(("section-error", spec))
    response = FetchResponse(seq=1, items=items)
    wire = b"* OK hi\r\n" + response.to_bytes()
    client = ClientConnection()
    got: list[object] = []
    for piece in chunkings(wire)[0]:
        if piece:  # b"" would mean the end of input
            client.receive_data(piece)
            while (event := client.next_event()) is not NEED_DATA:
                got.append(event)
    assert len(got) == 2 and isinstance(got[1], FetchResponse), got
    back = got[1].items
    assert set(back) == set(items), (sorted(back), sorted(items))
    envelope = parse_envelope(back["ENVELOPE"])  # type: ignore[arg-type]
    assert envelope is not None, f"our ENVELOPE does not parse: {items['ENVELOPE']!r:.300}"
    for name in ("BODYSTRUCTURE", "BODY"):
        structure = parse_bodystructure(back[name])  # type: ignore[arg-type]
        assert structure is not None, f"our {name} does not parse: {items[name]!r:.300}"
        features.add((name, structure.mime_type if hasattr(structure, "mime_type") else ""))
    assert back["RFC822.SIZE"] == md.rfc822_size
    for name, value in items.items():
        if name.startswith("BODY["):
            assert back[name] == value, f"{name} changed on the wire"
    return features
