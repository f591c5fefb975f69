"""The topics of partner promotions: a short list the operator keeps, members choose among.

A topic's id is a slug of its name (``Office supplies`` → ``office-supplies``), fixed once the
topic exists: partners name topics by id in their promotions, members' choices are recorded by
id. Topics are never renamed or removed, so every id a promotion or a history names stays
readable. All topics live in one partition of the ``topics`` table: listing them is one Query.

Members take every topic unless they turned it off (``Member.topics_off``): a topic added later
is on for everyone who takes partner promotions, since nobody can have turned it off yet.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from pynamodb.exceptions import PutError

from chalicelib.members.models import Topic
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import ConflictError, ValidationError
from chalicelib.platform.text import check_text

SCOPE = "topics"       # the one partition every topic is in
MAX_TOPICS = 20        # a short list: members read them all at registration
MAX_NAME = 40
MAX_ID = 40
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class TopicInfo:
    """A topic as the operator, a partner and a member see it."""

    topic_id: str
    name: str
    created_at: Optional[datetime] = None

    def as_record(self) -> dict:
        return {"topic_id": self.topic_id, "name": self.name, "created_at": iso(self.created_at)}


def _clean_name(name: Optional[str]) -> str:
    if not isinstance(name, str):
        raise ValidationError("Give the topic a name.", field="name")
    check_text(name, "name")
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise ValidationError(f"A topic's name needs 1 to {MAX_NAME} characters.", field="name")
    return cleaned


def slug(name: str) -> str:
    """The id a name gets: lower-case ASCII letters, digits and hyphens ("" when none remain)."""
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")[:MAX_ID].rstrip("-")


def add_topic(name: str, now: Optional[datetime] = None) -> TopicInfo:
    """Declare a topic; ConflictError when one of that name (or id) exists or the list is full."""
    name = _clean_name(name)
    known = list_topics()
    if any(t.name.casefold() == name.casefold() for t in known):
        raise ConflictError(f"A topic named {name!r} exists already.", code="topic_exists",
                            field="name")
    if len(known) >= MAX_TOPICS:
        raise ConflictError(f"There are {MAX_TOPICS} topics already, the most members are asked "
                            "to choose among.", code="too_many_topics")
    topic_id = slug(name) or f"topic-{secrets.token_hex(3)}"
    item = Topic(SCOPE, topic_id, name=name, created_at=now or clock.now())
    try:
        with storage_errors():
            item.save(condition=Topic.topic_id.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"The topic id {topic_id!r} is taken by another topic; choose "
                                "a name that differs in its letters or digits.",
                                code="topic_exists", field="name") from None
        raise
    return TopicInfo(topic_id, name, item.created_at)


def list_topics() -> list:
    """Every topic, by name (one Query)."""
    with storage_errors():
        found = [TopicInfo(t.topic_id, t.name, t.created_at)
                 for t in Topic.query(SCOPE, consistent_read=True)]
    return sorted(found, key=lambda t: (t.name.casefold(), t.topic_id))


def topic_names() -> dict:
    """topic id → name, for every topic."""
    return {t.topic_id: t.name for t in list_topics()}


def require_known(topic_ids: Iterable, field: str = "topics",
                  catalogue: Optional[list] = None) -> list:
    """``topic_ids`` as a sorted list without repeats, each a declared topic; else a 400
    ``unknown_topic`` about ``field`` that names the known ones. ``catalogue``: the topics as
    the caller already read them (``list_topics``); nothing is read for no ids."""
    wanted = list(topic_ids)
    if any(not isinstance(t, str) or not _ID.match(t) for t in wanted):
        raise ValidationError("A topic id is 1 to 40 lower-case letters, digits or hyphens.",
                              code="unknown_topic", field=field)
    if not wanted:
        return []
    known = ({t.topic_id: t.name for t in catalogue} if catalogue is not None
             else topic_names())
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        listing = ", ".join(sorted(known)) or "none yet"
        raise ValidationError(f"There is no topic {', '.join(unknown)}. The topics are: {listing}.",
                              code="unknown_topic", field=field)
    return sorted(set(wanted))
