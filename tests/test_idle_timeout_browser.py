"""An unattended dashboard must not keep a session open: its status polls run every 2 s, but only
a person's action counts as activity, so the idle timeout ends the session in a real browser."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def test_an_open_dashboard_left_alone_is_signed_out_after_the_idle_limit(
    page, live_server, personas, settings, monkeypatch
):
    from playwright.sync_api import expect

    settings.SESSION_IDLE_SECONDS = 3
    # The session is written at most once a second, so a poll would keep it alive if it counted.
    monkeypatch.setattr("config.middleware.IdleSessionMiddleware.TOUCH_EVERY_SECONDS", 1)
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/dashboard/status" in request.url else None)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ivy")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    assert page.url == f"{live_server.url}/dashboard/"

    page.wait_for_timeout(5_500)  # nobody touches the page; the dashboard polls meanwhile

    assert len(polls) >= 2
    # The poll that found the session idle sent the page back to the login form by itself.
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You were signed out after a time without activity.")
    page.goto(f"{live_server.url}/dashboard/")
    assert page.url == f"{live_server.url}/login/?next=/dashboard/"
    expect(page.locator("#id_username")).to_be_visible()
