"""Compose's seal plan names the mail account each recipient is submitted through (the send_to rules)."""
import pytest
import tomli_w

from test_compose import LAB_OTP, LAB_STREAM, SIZE, open_compose, settle

pytestmark = pytest.mark.asyncio


def accounts(home, **tables) -> None:
    """Add [accounts.NAME] tables to the home's config.toml."""
    before = home.config.read_text() if home.config.exists() else ""
    home.config.write_text(before + "\n" + tomli_w.dumps({"accounts": tables}))


async def modes_for(app, pilot, text: str) -> str:
    screen = await open_compose(app, pilot)
    await pilot.press(*text)
    await settle(app, pilot)
    return str(screen.query_one("#compose-modes").render())


async def test_the_plan_shows_the_account_each_recipient_goes_through(demo, make_app):
    accounts(demo, cabinet={"address": "dr@cabinet.example", "default": True, "smtp_host": "127.0.0.1",
                            "smtp_security": "none"},
             labos={"address": "dr@cabinet.example", "send_to": ["labo-estuaire.example"],
                    "smtp_host": "127.0.0.1", "smtp_security": "none"})
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        modes = await modes_for(app, pilot, f"{LAB_OTP}, {LAB_STREAM}")
    [otp_line] = [line for line in modes.splitlines() if line.startswith(f"◐ {LAB_OTP}")]
    [stream_line] = [line for line in modes.splitlines() if line.startswith(f"○ {LAB_STREAM}")]
    assert otp_line.endswith("· via account labos")
    assert stream_line.endswith("· via account cabinet")


async def test_the_plan_says_when_no_account_can_send(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        modes = await modes_for(app, pilot, LAB_OTP)
    assert "· no mail account: it waits in the outbox" in modes
