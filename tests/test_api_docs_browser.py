"""The API's own documentation page runs in a real Chromium under the product's strict
Content-Security-Policy (scripts from the site's own files only, none inline)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def test_the_api_docs_render_under_the_content_security_policy(page, live_server, personas):
    from playwright.sync_api import expect

    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ivy")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sacral metastasis registry API")
    expect(page.locator(".swagger-ui .opblock-tag").first).to_be_visible()
    violations = [text for text in console if "Content Security Policy" in text or "Content-Security-Policy" in text]
    assert violations == []
