"""Pages the local stack serves beside the app, under ``/_local/``; never deployed.

- ``/_local/mail``: the mail the app sent, newest first, to read and click through. Each
  message opens on a page of its own; its text has working links, and its HTML part is shown in
  a sandboxed frame whose links open in the top window (eSO's pages refuse to be framed, so a
  link that opened inside a frame would be refused). With a state folder (``make run`` gives
  ``.local/state``), every message the local SES server receives is also written to
  ``mail.jsonl`` there, so mail outlives a restart of the stack as the database does.
- ``/_local/demo-partner/``: the landing page of the demo partner ``ptn_demo``, as a partner's
  site would be: it shows the ``eso_click`` it was sent and reports a sale through the partner
  API with the demo partner's key, so the referral flow can be followed in a browser.
"""
from __future__ import annotations

import html
import json
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

PREFIX = "/_local/"
STATE_DIR = "ESO_LOCAL_STATE"  # where mail and the demo partner's key are kept, if set
DEMO_PARTNER_ID = "ptn_demo"
SYNC_SECONDS = 1.0

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# The HTML part of a message, framed by its own page only: no scripts, no forms; a link may
# navigate the top window (when clicked) or open a new tab.
MAIL_HTML_CSP = ("sandbox allow-popups allow-popups-to-escape-sandbox "
                 "allow-top-navigation-by-user-activation; default-src 'none'; "
                 "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{background:#12355b;color:#fff;padding:.75rem 1rem}
header a{color:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem}
a{color:#0b57c5}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top;
overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:.75rem}
iframe{width:100%;min-height:28rem;border:1px solid #d0d7de}
.note{background:#fff8c5;padding:.5rem .75rem}
label{display:block;margin:.5rem 0 .2rem}
input{font:inherit;padding:.3rem}
button{font:inherit;padding:.4rem .9rem;margin-top:.75rem}
"""


def state_dir() -> Optional[Path]:
    raw = os.environ.get(STATE_DIR)
    return Path(raw) if raw else None


class Page:
    """What a local page answers: status, headers, body."""

    def __init__(self, status: int, body: str | bytes, content_type: str = "text/html",
                 headers: Optional[dict] = None):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = {"Content-Type": f"{content_type}; charset=utf-8",
                        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                        "Referrer-Policy": "no-referrer", "Content-Security-Policy": PAGE_CSP,
                        **(headers or {})}


def _document(title: str, content: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f'<header>Local stack only: <a href="/_local/mail">sent mail</a> · '
            f'<a href="/">eSO</a></header><main>{content}</main></body></html>')


# --- Mail ----------------------------------------------------------------------------------

class MailStore:
    """The local SES server's store, plus (with a state folder) every message it ever held."""

    def __init__(self, ses_url: str, archive: Optional[Path]):
        self.ses_url = ses_url.rstrip("/")
        self.archive = archive
        self._lock = threading.Lock()
        self._known: dict = {}
        if archive and archive.exists():
            for line in archive.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    message = json.loads(line)
                    self._known[message["messageId"]] = message

    def _live(self) -> list:
        with urllib.request.urlopen(self.ses_url + "/store", timeout=5) as response:
            return json.loads(response.read())["emails"]

    def sync(self) -> list:
        """Every message, oldest first; new ones from the server are archived."""
        live = self._live()
        with self._lock:
            new = [m for m in live if m["messageId"] not in self._known]
            for message in new:
                self._known[message["messageId"]] = message
            if new and self.archive:
                self.archive.parent.mkdir(parents=True, exist_ok=True)
                with self.archive.open("a", encoding="utf-8") as out:
                    for message in new:
                        out.write(json.dumps(message, sort_keys=True) + "\n")
            return sorted(self._known.values(), key=lambda m: (m.get("at") or 0))

    def keep(self, stop: threading.Event) -> None:
        """Archive new mail every second until ``stop`` is set (a daemon thread's loop)."""
        while not stop.wait(SYNC_SECONDS):
            try:
                self.sync()
            except (OSError, ValueError):
                pass  # the SES server is starting or stopping: try again next time


_URL = re.compile(r"https?://[^\s<>\"')]+")


def _linked_text(text: str) -> str:
    """Plain text, escaped, with its URLs as links."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        url = match.group(0)
        out.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _when(message: dict) -> str:
    at = message.get("at")
    if not at:
        return ""
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _to(message: dict) -> str:
    return ", ".join((message.get("destination") or {}).get("to") or [])


def mail_list(store: MailStore) -> Page:
    messages = list(reversed(store.sync()))
    kept = ("Mail is kept in .local/state/mail.jsonl across restarts."
            if store.archive else "Mail is kept only while the local SES server runs.")
    rows = "".join(
        f"<tr><td>{html.escape(_when(m))}</td><td>{html.escape(_to(m))}</td>"
        f'<td><a href="/_local/mail/{urllib.parse.quote(m["messageId"])}">'
        f'{html.escape(m.get("subject") or "(no subject)")}</a></td></tr>'
        for m in messages)
    table = (f"<table><thead><tr><th>Sent</th><th>To</th><th>Subject</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>" if messages else "<p>No mail has been sent yet.</p>")
    return Page(200, _document("Sent mail (local)",
                               f"<h1>Sent mail</h1><p>{kept}</p>{table}"))


def _find(store: MailStore, message_id: str) -> Optional[dict]:
    return next((m for m in store.sync() if m["messageId"] == message_id), None)


def mail_message(store: MailStore, message_id: str) -> Page:
    message = _find(store, message_id)
    if message is None:
        return Page(404, _document("Not found", "<h1>No such message</h1>"
                                   '<p><a href="/_local/mail">All sent mail</a></p>'))
    body = message.get("body") or {}
    headers = "".join(f"<tr><th>{html.escape(h['name'])}</th><td>{html.escape(h['value'])}</td>"
                      f"</tr>" for h in message.get("headers") or [])
    quoted = urllib.parse.quote(message_id)
    parts = [f"<h1>{html.escape(message.get('subject') or '(no subject)')}</h1>",
             f"<table><tr><th>From</th><td>{html.escape(message.get('from') or '')}</td></tr>"
             f"<tr><th>To</th><td>{html.escape(_to(message))}</td></tr>"
             f"<tr><th>Sent</th><td>{html.escape(_when(message))}</td></tr>{headers}</table>"]
    if body.get("text"):
        parts.append(f"<h2>Text</h2><pre>{_linked_text(body['text'])}</pre>")
    if body.get("html"):
        parts.append(f'<h2>HTML</h2><iframe title="The message as HTML" '
                     f'sandbox="allow-popups allow-popups-to-escape-sandbox '
                     f'allow-top-navigation-by-user-activation" '
                     f'src="/_local/mail/{quoted}/html"></iframe>')
    parts.append('<p><a href="/_local/mail">All sent mail</a></p>')
    return Page(200, _document(message.get("subject") or "Message", "".join(parts)))


def mail_html(store: MailStore, message_id: str) -> Page:
    message = _find(store, message_id)
    content = ((message or {}).get("body") or {}).get("html")
    if not content:
        return Page(404, "Not found", "text/plain")
    # Links open in the top window: the framed page would refuse to load inside a frame.
    base = '<base target="_top">'
    head = re.search(r"<head[^>]*>", content, re.I)
    content = (content[:head.end()] + base + content[head.end():] if head
               else base + content)
    return Page(200, content,
                headers={"Content-Security-Policy": MAIL_HTML_CSP})


# --- The demo partner's landing page --------------------------------------------------------

class DemoPartner:
    """The partner's side of a referral: its key, and calls to the partner API."""

    def __init__(self, app_url: str, key_file: Optional[Path]):
        self.app_url = app_url.rstrip("/")
        self.key_file = key_file
        self._key: Optional[str] = None
        self._lock = threading.Lock()

    def _stored_key(self) -> Optional[str]:
        if self._key is None and self.key_file and self.key_file.exists():
            self._key = self.key_file.read_text().strip() or None
        return self._key

    def _new_key(self) -> str:
        """A fresh key for the demo partner (its old one was never saved, or was rotated)."""
        from chalicelib import partners

        self._key = partners.rotate_key(DEMO_PARTNER_ID).api_key
        if self.key_file:
            self.key_file.parent.mkdir(parents=True, exist_ok=True)
            self.key_file.write_text(self._key + "\n")
            self.key_file.chmod(0o600)
        return self._key

    def call(self, method: str, path: str, body: Optional[dict] = None) -> tuple:
        """(status, JSON answer) of a partner API call with the demo key; a key the API
        refuses is replaced once."""
        with self._lock:
            key = self._stored_key() or self._new_key()
            status, answer = self._request(method, path, body, key)
            if status == 401:
                status, answer = self._request(method, path, body, self._new_key())
            return status, answer

    def _request(self, method, path, body, key) -> tuple:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.app_url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def _field(form: dict, name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def demo_landing(query: dict) -> Page:
    click = _field(query, "eso_click")
    intro = ("<p>This page stands in for the shop of the demo partner, Demo Office Supplies. "
             "eSO sends visitors here from its <em>Visit</em> links with a click id; the shop "
             "keeps it and reports a sale with it through the partner API.</p>")
    if not click:
        return Page(200, _document("Demo Office Supplies", (
            f"<h1>Demo Office Supplies</h1>{intro}<p class=note>This visit came without an "
            f"<code>eso_click</code>. Open the page through a <em>Visit Demo Office "
            f"Supplies</em> link on eSO.</p>")))
    order = f"DEMO-{secrets.token_hex(3).upper()}"
    form = (f'<form method="post" action="/_local/demo-partner/sale">'
            f'<input type="hidden" name="click_id" value="{html.escape(click)}">'
            f'<label for="order_id">Order number</label>'
            f'<input id="order_id" name="order_id" value="{order}" required>'
            f'<label for="amount">Amount (USD)</label>'
            f'<input id="amount" name="amount" value="12.50" inputmode="decimal" required>'
            f"<div><button>Report a sale</button></div></form>")
    return Page(200, _document("Demo Office Supplies", (
        f"<h1>Demo Office Supplies</h1>{intro}"
        f'<p>eSO sent this visit with <code>eso_click</code> = '
        f'<strong id="click">{html.escape(click)}</strong>.</p>{form}')))


def _answer(status: int, answer) -> str:
    return (f'<p>The partner API answered <strong id="status">{status}</strong>:</p>'
            f'<pre id="answer">{html.escape(json.dumps(answer, indent=2))}</pre>')


def demo_sale(partner: DemoPartner, form: dict) -> Page:
    body = {"click_id": _field(form, "click_id"), "order_id": _field(form, "order_id"),
            "amount": _field(form, "amount"), "currency": "USD"}
    status, answer = partner.call("POST", "/partner/v1/transactions", body)
    again = "".join(f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
                    for name, value in body.items() if name != "currency")
    return Page(200, _document("Sale reported" if status < 300 else "Sale refused", (
        f"<h1>{'Sale reported' if status < 300 else 'Sale refused'}</h1>"
        f"<p>The shop called <code>POST /partner/v1/transactions</code> with the demo "
        f"partner's key.</p>{_answer(status, answer)}"
        f'<form method="post" action="/_local/demo-partner/sale">{again}'
        f"<p>A shop whose call timed out sends the same report again; eSO answers with the "
        f"sale it already has.</p><button>Send the same report again</button></form>"
        f'<p><a href="/_local/demo-partner/report">Today\'s figures for the demo partner</a>'
        f"</p>")))


def demo_report(partner: DemoPartner) -> Page:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    status, answer = partner.call("GET", f"/partner/v1/reports/daily?from={today}&to={today}")
    return Page(200, _document("Demo partner report", (
        f"<h1>Today's figures</h1><p>The shop called <code>GET /partner/v1/reports/daily"
        f"</code>. Figures below the privacy threshold read as <code>&lt;K</code>.</p>"
        f"{_answer(status, answer)}")))


# --- Routing ---------------------------------------------------------------------------------

class LocalPages:
    """Answers ``/_local/…`` requests; started with the local app server."""

    def __init__(self, app_url: str, ses_url: str, state: Optional[Path] = None):
        self.mail = MailStore(ses_url, state / "mail.jsonl" if state else None)
        self.partner = DemoPartner(app_url, state / "demo-partner-key" if state else None)
        self._stop = threading.Event()
        if state:
            threading.Thread(target=self.mail.keep, args=(self._stop,), daemon=True,
                             name="mail-keeper").start()

    def stop(self) -> None:
        self._stop.set()

    def handle(self, method: str, path: str, body: bytes) -> Page:
        route, _, raw_query = path.partition("?")
        query = urllib.parse.parse_qs(raw_query)
        parts = route[len(PREFIX):].strip("/").split("/")
        try:
            if method in ("GET", "HEAD"):
                if parts == ["mail"]:
                    return mail_list(self.mail)
                if len(parts) == 2 and parts[0] == "mail":
                    return mail_message(self.mail, urllib.parse.unquote(parts[1]))
                if len(parts) == 3 and parts[0] == "mail" and parts[2] == "html":
                    return mail_html(self.mail, urllib.parse.unquote(parts[1]))
                if parts[:1] == ["demo-partner"] and parts[1:] in ([], ["welcome"]):
                    return demo_landing(query)
                if parts == ["demo-partner", "privacy"]:
                    return Page(200, _document("Demo Office Supplies: privacy", (
                        "<h1>Demo Office Supplies: privacy</h1><p>A demo partner on the local "
                        "stack. It keeps the click ids eSO sends it and the orders it reports; "
                        "it never learns who a visitor is.</p>")))
                if parts == ["demo-partner", "report"]:
                    return demo_report(self.partner)
            if method == "POST" and parts == ["demo-partner", "sale"]:
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                return demo_sale(self.partner, form)
        except (OSError, ValueError) as exc:
            return Page(503, _document("Unavailable", (
                f"<h1>Not available right now</h1><p>{html.escape(str(exc))}</p>"
                f"<p>Is the whole local stack running (<code>make run</code>)?</p>")))
        return Page(404, _document("Not found", "<h1>Nothing here</h1>"
                                   '<p><a href="/_local/mail">Sent mail</a></p>'))
