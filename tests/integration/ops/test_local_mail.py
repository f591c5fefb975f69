"""Sent mail on the local stack outlives a restart of the local SES server, as the database's
data does: the local pages keep every message in the state folder."""
import boto3

from devstack.localpages import MailStore
from devstack.servers import SesServer, free_port


def send(ses_url: str, to: str, subject: str) -> None:
    client = boto3.client("sesv2", endpoint_url=ses_url, region_name="us-east-1")
    client.send_email(FromEmailAddress="eso@example.com", Destination={"ToAddresses": [to]},
                      Content={"Simple": {"Subject": {"Data": subject},
                                          "Body": {"Text": {"Data": "https://x.example/a"}}}})


def test_mail_sent_before_a_restart_is_still_listed_after_it(tmp_path):
    archive = tmp_path / "state" / "mail.jsonl"
    first = SesServer(free_port(), log_path=tmp_path / "ses1.log").start()
    try:
        send(first.url, "before@example.com", "Before the restart")
        assert [m["subject"] for m in MailStore(first.url, archive).sync()] == [
            "Before the restart"]
    finally:
        first.stop()

    second = SesServer(free_port(), log_path=tmp_path / "ses2.log").start()
    try:
        send(second.url, "after@example.com", "After the restart")
        kept = MailStore(second.url, archive).sync()
        assert [m["subject"] for m in kept] == ["Before the restart", "After the restart"]
        # Each message is archived once, however often the store is read.
        MailStore(second.url, archive).sync()
        assert len(archive.read_text().splitlines()) == 2
    finally:
        second.stop()


def test_without_a_state_folder_only_the_running_servers_mail_is_listed(tmp_path):
    server = SesServer(free_port(), log_path=tmp_path / "ses.log").start()
    try:
        send(server.url, "only@example.com", "Only now")
        assert [m["subject"] for m in MailStore(server.url, None).sync()] == ["Only now"]
        assert list(tmp_path.glob("**/*.jsonl")) == []
    finally:
        server.stop()
