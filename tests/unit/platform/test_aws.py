"""Clients on a cold container: botocore's data files are parsed once per process, however
many tables (each with a PynamoDB connection of its own) and services a request touches."""
import threading

import pytest
from botocore.loaders import JSONFileLoader


@pytest.fixture
def files_read(monkeypatch):
    """The botocore data files read from disk (and parsed) since the fixture began."""
    read = []
    original = JSONFileLoader.load_file

    def counting(self, file_path):
        read.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counting)
    return read


def test_a_further_table_s_first_use_parses_no_service_model_again(moto_world, files_read,
                                                                   monkeypatch):
    from chalicelib.members.models import Member, Token
    from chalicelib.promotions.models import Promotion

    for model in (Member, Token, Promotion):  # as on a cold container: no connection yet
        monkeypatch.setattr(model, "_connection", None)

    assert Member._get_connection().connection.client  # the first table: files are read
    assert Token._get_connection().connection.client
    read_by_first = len(files_read)
    assert Promotion._get_connection().connection.client
    assert Promotion.count() >= 0                      # and a call through it works
    assert len(files_read) == read_by_first


def test_a_table_used_from_another_thread_reads_no_files_again(moto_world, files_read,
                                                               monkeypatch):
    from chalicelib.members.models import Member, Session

    monkeypatch.setattr(Session, "_connection", None)  # its client is made in the thread
    assert Member.count() >= 0
    before = len(files_read)
    counts = []
    worker = threading.Thread(target=lambda: counts.append(Session.count()))
    worker.start()
    worker.join()
    assert counts and counts[0] >= 0 and len(files_read) == before


def test_boto3_clients_read_through_the_same_loader(moto_world, files_read):
    from chalicelib.members.models import Member
    from chalicelib.platform import aws

    assert Member.count() >= 0
    before = len(files_read)
    aws._client.cache_clear()                         # a new client, as on a cold container
    client = aws.sqs()
    dynamodb_paths = [p for p in files_read[before:] if "dynamodb" in p or "endpoints" in p]
    assert dynamodb_paths == [] and client.meta.service_model.service_name == "sqs"


def test_a_thread_that_finds_the_table_s_client_made_makes_no_session(moto_world, monkeypatch):
    from chalicelib.members.models import Member
    from chalicelib.platform import aws

    assert Member.count() >= 0                        # the client is made
    made = []
    real = aws.botocore_session
    monkeypatch.setattr(aws, "botocore_session", lambda: made.append(1) or real())
    counts = []
    worker = threading.Thread(target=lambda: counts.append(Member.count()))  # a request's thread
    worker.start()
    worker.join()
    assert counts and counts[0] >= 0 and made == []
