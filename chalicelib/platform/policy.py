"""The privacy policy the product serves and every consent event refers to by version."""
from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import NamedTuple

POLICY_FILE = Path(__file__).resolve().parent.parent / "content" / "privacy-policy.txt"

# The published versions: a changed text must get a new version here (a test enforces it),
# so a consent event's policy_version always names the exact text the member saw.
VERSIONS = {
    "e46959252bcb671ec14ed5d4925acd86a9ca746bb8a7d744be6cd39f8c1c613a": ("2026-11-28", "2026-11-28"),
}


# What changed in each version, in a few plain sentences: shown to members who made their
# choices under an earlier version, on their next visit. A new version needs an entry here.
CHANGES = {
    "2026-11-28": ("The first published version of this policy.",),
}
FIRST_VERSION = "2026-11-28"


def changes_since(version: str | None) -> list:
    """[(version, effective date, sentences)] of the versions after ``version``, oldest first
    (every version when ``version`` is unknown, none when it is current)."""
    published = sorted(set(VERSIONS.values()))
    after = [(v, eff) for v, eff in published if version is None or v > version]
    return [(v, eff, CHANGES.get(v, ())) for v, eff in after]


class Policy(NamedTuple):
    version: str
    effective_date: str
    sha256: str
    text: str

    def sections(self):
        """The text as (kind, text) blocks: 'title', 'heading' or 'paragraph'."""
        blocks = [b.strip() for b in re.split(r"\n\s*\n", self.text) if b.strip()]
        shaped = []
        for index, block in enumerate(blocks):
            single_line = "\n" not in block
            if index == 0:
                shaped.append(("title", block))
            elif single_line and len(block) < 70 and not block.endswith((".", ":", "?")):
                shaped.append(("heading", block))
            else:
                shaped.append(("paragraph", " ".join(block.split())))
        return shaped


@functools.lru_cache(maxsize=1)
def current_policy() -> Policy:
    raw = POLICY_FILE.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest not in VERSIONS:
        raise RuntimeError("privacy-policy.txt changed without a new entry in privacy.VERSIONS")
    version, effective = VERSIONS[digest]
    return Policy(version=version, effective_date=effective, sha256=digest,
                  text=raw.decode("utf-8"))


def policy_version() -> str:
    return current_policy().version
