"""An error points at its field: aria-invalid on the field, aria-describedby naming the message,
both when the server renders the form again and when site.js shows the JSON API's error."""
import pytest

from tests.integration.helpers import PASSWORD, new_email
from tests.integration.promotion_helpers import make_member


def described_by(page, selector) -> str:
    """The text of the elements the field's aria-describedby names, in order."""
    return page.evaluate("""selector => {
        const ids = (document.querySelector(selector).getAttribute('aria-describedby') || '')
            .split(/\\s+/).filter(Boolean);
        return ids.map(id => document.getElementById(id).textContent.trim()).join(' | ');
    }""", selector)


def invalid_fields(page) -> list:
    return page.evaluate("[...document.querySelectorAll('main [aria-invalid=true]')].map(e => e.id)")


def test_register_marks_the_address_it_refuses(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/register")
    page.fill("#email", "someone@localhost")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Register").click()
    page.wait_for_load_state()

    assert invalid_fields(page) == ["email"]
    assert "Enter a valid e-mail address" in described_by(page, "#email")
    assert page.input_value("#email") == "someone@localhost"   # what was typed is kept
    summary = page.get_by_role("alert")
    assert "Enter a valid e-mail address" in summary.inner_text()
    assert summary.get_by_role("link").get_attribute("href") == "#email"
    assert page.evaluate("document.activeElement.id") == "register-error"  # read first
    assert page.title().startswith("Error: ")


def test_register_marks_a_short_password_and_keeps_its_hint(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/register")
    page.fill("#email", new_email("form-errors"))
    page.fill("#password", "short")
    page.get_by_role("button", name="Register").click()
    page.wait_for_load_state()

    assert invalid_fields(page) == ["password"]
    assert page.get_attribute("#password", "aria-describedby") == "password-hint password-error"
    text = described_by(page, "#password")
    assert text.startswith("At least 10 characters")
    assert "The password needs at least 10 characters. Choose a longer one." in text


@pytest.mark.parametrize("javascript", [True, False], ids=["site.js and the API", "server"])
def test_login_marks_both_fields_of_a_refused_pair(app_server, chromium, mailbox, javascript):
    email, _ = make_member(mailbox, tag="form-errors")
    context = chromium.new_context(java_script_enabled=javascript)
    try:
        page = context.new_page()
        posted = []
        page.on("request", lambda r: r.method == "POST" and posted.append(r.url))
        page.goto(app_server.url + "/login")
        page.fill("#email", email)
        page.fill("#password", "not the password I chose")
        page.get_by_role("button", name="Log in").click()
        page.locator("#form-error-message").wait_for()

        assert posted[-1].endswith("/api/v1/session" if javascript else "/login")
        assert invalid_fields(page) == ["email", "password"]
        for field in ("#email", "#password"):
            assert described_by(page, field).startswith(
                "The e-mail address or the password is wrong.")
        assert page.input_value("#email") == email
        if javascript:  # no reload: focus goes to the first field at fault
            assert page.evaluate("document.activeElement.id") == "email"

        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/members?done=logged-in")
    finally:
        context.close()


def test_contact_marks_the_field_the_api_names(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/contact")
    page.fill("#email", "asker@example.org")
    with page.expect_response("**/api/v1/contact") as answer:
        page.get_by_role("button", name="Send").click()
    error = answer.value.json()["error"]
    assert answer.value.status == 400 and error["field"] == "message"
    page.locator("#message-error").wait_for()

    assert invalid_fields(page) == ["message"]
    assert page.get_attribute("#message", "aria-describedby") == "message-hint message-error"
    assert error["message"] in described_by(page, "#message")
    assert page.evaluate("document.activeElement.id") == "message"

    # Another error replaces the first: one field marked, one message.
    page.fill("#email", "not an address")
    page.fill("#message", "Hello")
    page.get_by_role("button", name="Send").click()
    page.locator("#email-error").wait_for()
    assert invalid_fields(page) == ["email"]
    assert page.get_attribute("#message", "aria-describedby") == "message-hint"
    assert page.locator(".field-error").count() == 1
