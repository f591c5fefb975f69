"""``python -m devstack assets --stage S``: the static files, under their content-hashed names,
into the stage's assets bucket (infra/assets.yaml), where CloudFront serves ``/assets/*``.

Run after each deploy of the packaged template. Files already there stay: a page rendered by
the release before keeps finding its own stylesheet and scripts. Uploading is idempotent.
"""
from __future__ import annotations

from chalicelib.platform import assets


def bucket_name(stage: str, account_id: str) -> str:
    """The bucket infra/assets.yaml creates for ``stage`` in that account."""
    return f"eso-{stage}-assets-{account_id}"


def upload(stage: str, session=None) -> list:
    """Put every asset at ``assets/<hashed name>`` with its media type and a year's caching;
    returns the keys."""
    import boto3

    session = session or boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    s3 = session.client("s3")
    bucket = bucket_name(stage, account)
    keys = []
    for asset in assets.manifest().values():
        key = assets.PREFIX.lstrip("/") + asset.hashed_name
        s3.put_object(Bucket=bucket, Key=key, Body=asset.body, ContentType=asset.media_type,
                      CacheControl=assets.IMMUTABLE)
        keys.append(key)
    return keys


def main(argv: list) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devstack assets",
                                     description="Upload the static files to the stage's bucket.")
    parser.add_argument("--stage", choices=["dev", "prod"], required=True)
    args = parser.parse_args(argv)
    for key in upload(args.stage):
        print(key)
    return 0
