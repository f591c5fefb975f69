"""How a promotion's progress reads, for the console and the CLI alike."""
from datetime import datetime, timezone
from types import SimpleNamespace

from chalicelib.promotions.counts import Counts
from chalicelib.promotions.progress import paused_text, progress_row, status_text

AT = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def promotion(status, **extra):
    fields = {"promotion_id": "p1", "subject": "Toner", "kind": "partner", "status": status,
              "paused_reason": None, "resume_at": None, "send_at": None,
              "window_started_at": None}
    return SimpleNamespace(**{**fields, **extra})


def test_paused_and_scheduled_say_why_and_when():
    assert paused_text({"paused_reason": "daily_quota", "resume_at": "2026-12-02T09:30:00Z"}) \
        == "paused: daily quota, resumes at 2026-12-02 09:30 UTC"
    assert status_text({"status": "scheduled", "send_at": "2026-12-01T09:30:00Z"}) \
        == "scheduled: starts at 2026-12-01 09:30 UTC"
    assert status_text({"status": "sending"}) == "sending"


def test_a_send_is_finished_once_every_planned_member_is_accounted_for():
    sent = promotion("sent", window_started_at=AT)
    going = progress_row(sent, Counts(40, 5, 4), 50)
    assert (going["finished"], going["status_text"]) == (False, "sent: planned, batches still going out")
    done = progress_row(sent, Counts(40, 6, 4), 50)
    assert (done["finished"], done["status_text"]) == (True, "sent: finished")
    assert progress_row(sent, Counts(0, 0, 0), None)["finished"] is False  # not planned yet
    paused = progress_row(promotion("paused", paused_reason="daily_quota", resume_at=AT,
                                    window_started_at=AT), Counts(10, 0, 0), 50)
    assert paused["status_text"] == "paused: daily quota, resumes at 2026-12-01 09:30 UTC"
    assert (paused["planned"], paused["delivered"], paused["started_at"]) == (50, 10, "2026-12-01T09:30:00Z")
