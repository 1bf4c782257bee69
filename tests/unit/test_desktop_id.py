"""socialdesk.DESKTOP_ID is the one name of the desktop entry: the file in packaging/, its Icon=, and the
AppStream launchable all say it, so the notifications' desktop-entry hint and app icon find the app."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

from socialdesk import DESKTOP_ID

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def test_the_desktop_entry_is_named_by_desktop_id():
    entry = PACKAGING / f"{DESKTOP_ID}.desktop"
    assert entry.is_file(), f"packaging/{DESKTOP_ID}.desktop missing: rename the file or socialdesk.DESKTOP_ID"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(entry, encoding="utf-8")
    assert parser["Desktop Entry"]["Icon"] == DESKTOP_ID


def test_appstream_launches_the_same_entry():
    launchables = [
        node.text for path in PACKAGING.glob("*.metainfo.xml")
        for node in ET.parse(path).getroot().iter("launchable") if node.get("type") == "desktop-id"
    ]
    assert launchables == [f"{DESKTOP_ID}.desktop"]
