"""A short, human summary of a browser's User-Agent ("Firefox on Windows"), for the list of a
member's sessions.

A full User-Agent parser (ua-parser and its rule set) takes about 0.4 s to load, longer than
the whole request it would serve on a cold Lambda; members need only the browser family and
the platform to recognise a session, which a dozen ordered checks give.
"""
from __future__ import annotations

import re

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari", and
# iPhone/iPad and Android also say "Mac OS X"/"Linux".
_BROWSERS = (
    (re.compile(r"\bEdg(?:e|A|iOS)?/"), "Edge"),
    (re.compile(r"\b(?:OPR|Opera)/"), "Opera"),
    (re.compile(r"\bSamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"\b(?:Firefox|FxiOS)/"), "Firefox"),
    (re.compile(r"\b(?:HeadlessChrome|Chromium)/"), "Chromium"),
    (re.compile(r"\b(?:Chrome|CriOS)/"), "Chrome"),
    (re.compile(r"\bVersion/[\d.]+.*\bSafari/"), "Safari"),
    (re.compile(r"^curl/"), "curl"),
)
_PLATFORMS = (
    (re.compile(r"\biPhone\b"), "iPhone"),
    (re.compile(r"\biPad\b"), "iPad"),
    (re.compile(r"\bAndroid\b"), "Android"),
    (re.compile(r"\bCrOS\b"), "ChromeOS"),
    (re.compile(r"\bWindows\b"), "Windows"),
    (re.compile(r"\bMac OS X\b|\bMacintosh\b"), "macOS"),
    (re.compile(r"\bLinux\b"), "Linux"),
)


def device_summary(user_agent: str | None) -> str:
    """"<browser> on <platform>", either part "Unknown …" when not recognised."""
    agent = user_agent or ""
    browser = next((name for pattern, name in _BROWSERS if pattern.search(agent)), None)
    platform = next((name for pattern, name in _PLATFORMS if pattern.search(agent)), None)
    if browser and platform:
        return f"{browser} on {platform}"
    if browser or platform:
        return browser or f"A browser on {platform}"
    return "Unknown device"
