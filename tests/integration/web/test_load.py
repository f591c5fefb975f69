"""A bounded load run (bench/load.py) against chalice local and DynamoDB Local: no error
responses, and the tables hold exactly what the successful requests wrote."""
from bench import load

SECONDS = 12
WORKERS = 6


def test_mixed_load_loses_and_duplicates_nothing(app_server, mailbox):
    result = load.run(app_server.url, mailbox.url, seconds=SECONDS, workers=WORKERS)
    for row in result["rows"]:
        print(f"{row['operation']:45} n={row['requests']:5} p50={row['median_ms']:6.1f} "
              f"p95={row['p95_ms']:6.1f} p99={row['p99_ms']:6.1f} ms")
    assert result["errors"] == [], result["errors"][:5]
    assert result["problems"] == []
    assert result["orders"] >= 5 and result["duplicates"] >= 1 and result["members"] >= 3
