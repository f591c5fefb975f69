"""Every operator command, as an operator runs it, with ``--json`` before and after the command:
each prints exactly one JSON object with its fields, and both places mean the same.

The commands are read from the CLI itself: a command without a case here fails the test."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import click
import pytest

from chalicelib import ads, members, partners, promotions
from chalicelib.ops.cli import main
from chalicelib.platform.vocabulary import PARTNER
from tests.integration.helpers import cli
from tests.integration.partner_helpers import new_partner

pytestmark = pytest.mark.usefixtures("stack")


def leaf_commands(group: click.Group, prefix: tuple = ()) -> list:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaf_commands(command, prefix + (name,))
        else:
            found.append(" ".join(prefix + (name,)))
    return found


COMMANDS = leaf_commands(main)


@dataclass
class World:
    """What the commands act on: one of each, made through the services."""

    today: str
    member_id: str
    slot: str
    ad_id: str
    partner_id: str          # active, with a privacy policy: its promotions can be approved
    disable_partner_id: str
    enable_partner_id: str
    promotion_id: str        # pending, for `show`
    send_at: str = ""        # a time to schedule for: tomorrow, UTC


    def pending_promotion(self) -> str:
        return promotions.create(PARTNER, "Case deal", "Half price, this week only.",
                                 '<p>Half price, <a href="https://shop.example/">here</a>.</p>',
                                 partner_id=self.partner_id).promotion_id


@pytest.fixture(scope="module")
def world(stack) -> World:
    from chalicelib.members.models import EmailClaim
    from chalicelib.ops import demo

    demo.seed()
    slot = ads.declare_slot("cli-" + uuid.uuid4().hex[:8], "for the CLI cases").slot
    ad = ads.create_ad(slot=slot, title="Case ad", target_url="https://example.com/case")
    ids = [new_partner(f"Case {n}")[0] for n in range(3)]
    world = World(today=datetime.now(timezone.utc).date().isoformat(),
                  member_id=EmailClaim.get(demo.DEMO_MEMBER["email"]).member_id,
                  slot=slot, ad_id=ad.ad_id, partner_id=ids[0], disable_partner_id=ids[1],
                  enable_partner_id=ids[2], promotion_id="")
    world.promotion_id = world.pending_promotion()
    world.send_at = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")
    return world


@dataclass
class Case:
    """How to run one command, and what its JSON object must hold."""

    args: Callable[[World], list]        # called before each run: may prepare what it acts on
    fields: set                          # keys the object must have
    differs: tuple = ()                  # keys whose values differ by nature between two runs
    check: Callable = field(default=lambda world, first, second: None)


def _same_ad_apart_from_its_id(world, first, second):
    one, two = ads.get_ad(first["ad_id"]).as_record(), ads.get_ad(second["ad_id"]).as_record()
    assert one.pop("ad_id") != two.pop("ad_id") and one == two


def _both_partners_exist(world, first, second):
    for shown in (first, second):
        assert partners.authenticate(shown["api_key"]) == shown["partner_id"]


def _both_slots_listed(world, first, second):
    names = {s.slot for s in ads.list_slots()}
    assert {first["slot"], second["slot"]} <= names


def _fresh_slot(world) -> list:
    return ["slots", "add", "--name", "case-" + uuid.uuid4().hex[:8], "--description", "Case"]


def _fresh_topic(world) -> list:
    return ["topics", "add", "--name", f"Case topic {uuid.uuid4().hex[:8]}"]


def _both_topics_listed(world, first, second):
    listed = {t.topic_id: t.name for t in members.topics.list_topics()}
    for shown in (first, second):
        assert listed[shown["topic_id"]] == shown["name"]
        assert shown["topic_id"] == members.topics.slug(shown["name"])


def _disabled_then_enable(world) -> list:
    partners.disable(world.enable_partner_id)
    return ["partners", "enable", world.enable_partner_id]


CASE_OPERATOR = f"case-operator-{uuid.uuid4().hex[:8]}@example.org"


def _new_operator_to_disable(world) -> list:
    from chalicelib import operators

    return ["operators", "disable",
            operators.add(f"gone-{uuid.uuid4().hex[:8]}@example.org")["operator_id"]]


def _same_pending_operator_new_link(world, first, second):
    from chalicelib import operators

    assert first["operator_id"] == second["operator_id"]
    assert first["setup_url"] != second["setup_url"]  # adding again replaces the link
    assert operators.get_operator(first["operator_id"]).status == "pending"


def _both_scheduled(world, first, second):
    for shown in (first, second):
        promotion = promotions.get(shown["id"])
        assert (promotion.status, shown["status"]) == ("scheduled", "scheduled")
        assert shown["send_at"] == world.send_at.replace("Z", ":00Z")


PROMOTION_ROW = {"id", "kind", "status", "partner_id", "subject", "created_at", "delivered",
                 "skipped", "failed", "paused_reason", "resume_at", "topics"}

CASES = {
    "local tables": Case(lambda w: ["local", "tables"], {"created", "indexes_added"}),
    "local seed": Case(lambda w: ["local", "seed"], {"demo_member", "ads", "partners"}),
    "consent verify": Case(lambda w: ["consent", "verify", "--member", w.member_id],
                           {"checked", "problems", "intact"}),
    "stats migrate": Case(lambda w: ["stats", "migrate"], {"counters_moved", "sketch_parts_moved"},
                          differs=("counters_moved", "sketch_parts_moved")),
    "report": Case(lambda w: ["report", "--from", w.today, "--to", w.today], {"from", "to"}),
    "promotions list": Case(lambda w: ["promotions", "list", "--status", "pending_review"],
                            {"promotions"}),
    "promotions show": Case(lambda w: ["promotions", "show", w.promotion_id],
                            PROMOTION_ROW | {"text", "html", "html_text", "footer", "headers",
                                             "partner", "from", "links", "variants",
                                             "engagement"}),
    # The first of the two promotions uses the allowance of members who may have one partner
    # promotion a week: the second, a moment later, skips them.
    "promotions approve": Case(lambda w: ["promotions", "approve", w.pending_promotion()],
                               PROMOTION_ROW | {"batches", "forecast"},
                               differs=("id", "created_at", "forecast", "delivered", "skipped")),
    "promotions reject": Case(lambda w: ["promotions", "reject", w.pending_promotion()],
                              PROMOTION_ROW, differs=("id", "created_at")),
    "promotions schedule": Case(lambda w: ["promotions", "schedule", w.pending_promotion(),
                                           "--at", w.send_at],
                                PROMOTION_ROW | {"send_at", "forecast"},
                                differs=("id", "created_at", "forecast"),
                                check=_both_scheduled),
    "offers send": Case(lambda w: ["offers", "send", "--subject", "Case offer",
                                   "--text", "Our own offer."],
                        PROMOTION_ROW | {"promotion_id", "batches", "forecast"},
                        differs=("id", "promotion_id", "created_at", "forecast")),
    "promotions reconcile": Case(lambda w: ["promotions", "reconcile"],
                                 {"started", "resumed", "confirmed", "resent", "failed"},
                                 differs=("started", "resumed", "confirmed", "resent", "failed")),
    "topics add": Case(_fresh_topic, {"topic_id", "name", "created_at"},
                       differs=("topic_id", "name", "created_at"), check=_both_topics_listed),
    "topics list": Case(lambda w: ["topics", "list"], {"topics"}),
    "slots add": Case(_fresh_slot, {"slot", "description", "built_in", "created_at"},
                      differs=("slot", "created_at"), check=_both_slots_listed),
    "slots list": Case(lambda w: ["slots", "list"], {"slots"}),
    "ads add": Case(lambda w: ["ads", "add", "--slot", w.slot, "--title", "Added twice",
                               "--target-url", "https://example.com/twice", "--weight", "3"],
                    {"ad_id"}, differs=("ad_id",), check=_same_ad_apart_from_its_id),
    "ads list": Case(lambda w: ["ads", "list", "--slot", w.slot], {"ads"}),
    "ads edit": Case(lambda w: ["ads", "edit", w.ad_id, "--title", "Edited case ad"],
                     {"ad_id", "title", "slot", "changed"}),
    "ads disable": Case(lambda w: ["ads", "disable", w.ad_id], {"ad_id", "active"}),
    "ads enable": Case(lambda w: ["ads", "enable", w.ad_id], {"ad_id", "active"}),
    "partners add": Case(lambda w: ["partners", "add", "--name", "Case shop",
                                    "--landing-url", "https://case.example/"],
                         {"partner_id", "api_key"}, differs=("partner_id", "api_key"),
                         check=_both_partners_exist),
    "partners edit": Case(lambda w: ["partners", "edit", w.partner_id, "--description", "Edited"],
                          {"partner_id", "name", "description", "changed"}),
    "partners rotate-key": Case(lambda w: ["partners", "rotate-key", w.partner_id],
                                {"partner_id", "api_key"}, differs=("api_key",)),
    "partners disable": Case(lambda w: ["partners", "disable", w.disable_partner_id],
                             {"partner_id", "status"}),
    "partners enable": Case(_disabled_then_enable, {"partner_id", "status", "api_key"},
                            differs=("api_key",)),
    "partners list": Case(lambda w: ["partners", "list"], {"partners"}),
    "partners notify": Case(lambda w: ["partners", "notify"],
                            {"requests", "notices_recorded", "acknowledged", "failed", "waiting"},
                            differs=("requests", "notices_recorded", "acknowledged", "failed",
                                     "waiting")),
    "operators add": Case(lambda w: ["operators", "add", "--email", CASE_OPERATOR],
                          {"operator_id", "setup_url"}, differs=("setup_url",),
                          check=_same_pending_operator_new_link),
    "operators list": Case(lambda w: ["operators", "list"], {"operators"}),
    "operators disable": Case(_new_operator_to_disable, {"operator_id", "status", "sessions_ended"},
                              differs=("operator_id",)),
    "status": Case(lambda w: ["status"], {"stage", "alarms", "queues", "alarm_recipients",
                                          "ses_account", "ses_identity", "unavailable",
                                          "problems"}),
    "deploy gateway-responses": Case(lambda w: ["deploy", "gateway-responses"],
                                     {"stage", "rest_api_id", "responses", "applied"}),
    "deploy log-retention": Case(lambda w: ["deploy", "log-retention"],
                                 {"stage", "log_groups", "applied"}),
}


def test_every_case_is_a_command_of_the_cli():
    assert set(CASES) == set(COMMANDS)


def _one_object(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result.stdout
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_one_json_object_with_json_before_or_after_it(world, command):
    assert command in CASES, f"no case for `{command}`: add one to CASES"
    case = CASES[command]
    before = _one_object(cli("--json", *case.args(world)))
    after = _one_object(cli(*case.args(world), "--json"))
    for shown in (before, after):
        assert case.fields <= set(shown), f"{command} lacks {case.fields - set(shown)}"
    assert set(before) == set(after)
    case.check(world, before, after)
    assert ({k: v for k, v in before.items() if k not in case.differs}
            == {k: v for k, v in after.items() if k not in case.differs})


def test_json_means_the_same_anywhere_and_errors_stay_one_line(world):
    for args in (["--json", "ads", "edit", "ad-nosuchad1", "--title", "x"],
                 ["ads", "edit", "ad-nosuchad1", "--title", "x", "--json"]):
        result = cli(*args)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr.strip() == "error: There is no such ad."


@pytest.mark.parametrize("name, says", [
    ("", "1 to 40 characters"),
    ("   ", "1 to 40 characters"),
    ("x" * 41, "1 to 40 characters"),
    ("Line\nbreak", "control characters"),
])
def test_topics_add_refuses_an_empty_or_oversized_name_in_one_line(world, name, says):
    before = members.topics.list_topics()
    result = cli("topics", "add", "--name", name)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert says in result.stderr
    assert members.topics.list_topics() == before


def test_topics_add_refuses_a_topic_that_exists(world):
    name = f"Case duplicate {uuid.uuid4().hex[:8]}"
    added = json.loads(cli("--json", "topics", "add", "--name", name).stdout)
    for again in (name, name.upper(), f"  {name.lower()}  "):
        result = cli("topics", "add", "--name", again)
        assert result.returncode == 1 and "exists already" in result.stderr
    listed = json.loads(cli("topics", "list", "--json").stdout)["topics"]
    assert [t["topic_id"] for t in listed].count(added["topic_id"]) == 1
    shown = cli("topics", "list").stdout
    assert added["topic_id"] in shown and name in shown


def _columns(line: str) -> list:
    """A line as terminal columns: a wide character takes two (the second is "")."""
    from chalicelib.ops.output import width

    out = []
    for char in line:
        out += [char] + [""] * (width(char) - 1)
    return out


@pytest.mark.parametrize("args", [["partners", "list"], ["slots", "list"],
                                  ["promotions", "list"], ["ads", "list"]])
def test_list_commands_line_up_their_columns(world, args):
    partners.edit(world.partner_id, name="Name with 広告 in wide characters")
    ads.create_ad(slot=world.slot, title="A title of some length, with 広告 in it",
                  target_url="https://example.com/", weight=1000)
    for subject in ("Listed offer", "Another listed offer, with 広告 in it"):
        promotions.create("offer", subject, "Text")  # rows of this test's own, whatever else
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    header, rule, *rows = result.stdout.rstrip("\n").splitlines()
    assert len(rows) >= 2 and set(rule) <= {"─", " "}
    # One run of ─ per column, as wide as its widest cell, two spaces between runs.
    runs = [(i, i + len(run)) for i, run in _runs(rule)]
    assert len(runs) == len(re.split(r" {2,}", header.strip()))
    for line in [header, *rows]:
        cells = _columns(line)
        for number, (start, end) in enumerate(runs):
            if number:  # the gutter before the column is blank on every line
                assert cells[start - 2:start] == [" ", " "], (args, line)
            text = "".join(cells[start:end]) if number < len(runs) - 1 else "".join(cells[start:])
            assert text.strip(), (args, line)
            # A cell starts where its column starts, or (numbers) ends where it ends.
            assert not text.startswith(" ") or (
                len(cells) >= end and cells[end - 1] not in (" ", "")), (args, line)


def _runs(rule: str):
    position = 0
    for run in rule.split("  "):
        yield position, run
        position += len(run) + 2


def test_scheduling_refuses_a_time_it_cannot_keep_in_one_line(world):
    for at, words in (("2020-01-01T09:00Z", "at least 10 minutes"),
                      ("next tuesday", "YYYY-MM-DDTHH:MMZ"),
                      ("2030-12-01T09:00+02:00", "in UTC")):
        promotion_id = world.pending_promotion()
        result = cli("promotions", "schedule", promotion_id, "--at", at)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith("error: ") and words in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1
        assert promotions.get(promotion_id).status == "pending_review"
