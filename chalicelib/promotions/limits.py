"""Sizes a promotion's content may have, and how many send workers run at once (imported by
the web schemas and the workers when the app is imported: no heavy imports here)."""

MAX_SUBJECT = 150
MAX_TEXT = 20_000
MAX_HTML = 100_000
MAX_VARIANTS = 3           # A/B variants of one promotion (2 to 3, or none)
# A promotion is one DynamoDB item (at most 400 KB): its subjects, texts, HTML and links in
# UTF-8, variants included, stay below this, with room for the rest of the item.
MAX_STORED_BYTES = 300_000

# At most this many send workers run at once (the SQS event source's maximum concurrency,
# workers.py): each paces itself at this share of the SES account's rate (quota.py).
SEND_CONCURRENCY = 2
