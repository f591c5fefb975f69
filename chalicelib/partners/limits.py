"""Sizes of what partners and members send (imported by the web schemas: no heavy imports)."""

MAX_CLICK_ID = 64
MAX_ORDER_ID = 64
MAX_REASON = 200
MAX_MESSAGE = 2000      # a member's message to a partner
MAX_WEBHOOK_URL = 2000
