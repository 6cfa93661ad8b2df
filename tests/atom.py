"""Reads an Atom 1.0 document (RFC 4287) strictly enough for the tests: the namespace, and a feed and
entries that each carry the required id, title and updated (RFC 3339); the feed has an author unless
every entry has one."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

NS = "http://www.w3.org/2005/Atom"
A = f"{{{NS}}}"


def _required(element: ET.Element, where: str) -> dict[str, str]:
    found = {}
    for name in ("id", "title", "updated"):
        children = element.findall(A + name)
        assert len(children) == 1, f"{where}: exactly one <{name}>, found {len(children)}"
        assert (children[0].text or "").strip(), f"{where}: <{name}> is empty"
        found[name] = children[0].text.strip()
    datetime.fromisoformat(found["updated"])  # RFC 3339
    return found


def parse_atom(body: bytes) -> dict:
    root = ET.fromstring(body)
    assert root.tag == A + "feed", f"the root is {root.tag}, not an Atom feed"
    feed = _required(root, "feed")
    entries = []
    for n, entry in enumerate(root.findall(A + "entry")):
        values = _required(entry, f"entry {n}")
        values["link"] = next((link.get("href") for link in entry.findall(A + "link")
                               if link.get("rel", "alternate") == "alternate"), None)
        values["has_author"] = entry.find(A + "author/" + A + "name") is not None
        content = entry.find(A + "content")
        values["content"] = content.text if content is not None else None
        entries.append(values)
    assert root.find(A + "author/" + A + "name") is not None or all(e["has_author"] for e in entries), \
        "a feed without an author needs one on every entry"
    assert any(link.get("rel") == "self" for link in root.findall(A + "link")), "a feed names its own address"
    assert len({e["id"] for e in entries}) == len(entries), "entry ids are unique"
    return {**feed, "entries": entries}
