"""A fake WeCom server for tests and demos (`duban fake-wecom`), speaking the documented API."""

from bot.devtools.fakewecom.server import FakeWecom, create_fake_app

__all__ = ["FakeWecom", "create_fake_app"]
