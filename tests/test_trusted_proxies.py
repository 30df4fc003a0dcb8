"""The client's address behind a reverse proxy (issue 11): X-Forwarded-For is believed only
from `web.trusted_proxies`, read from the right, so per-address login limits hit the guesser
and not everyone behind nginx, and a forged header changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.app import create_app
from bot.config import Config, ConfigError, load_config
from bot.runtime import Runtime, build_runtime
from bot.web.proxy import client_address, networks
from tests.conftest import Clock, County
from tests.test_hostile_web import accounts, login

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
NGINX = networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={"database": {"url": db_url}, "web": {"trusted_proxies": ["127.0.0.1"]}},
    )


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # nginx on loopback
        ("198.51.100.9", "203.0.113.5", "198.51.100.9"),  # not a proxy: the header is a lie
        ("127.0.0.1", "1.2.3.4, 203.0.113.5", "203.0.113.5"),  # forged left part ignored
        ("127.0.0.1", "203.0.113.5, 10.1.2.3", "203.0.113.5"),  # two trusted hops
        ("127.0.0.1", "10.1.2.3, 10.1.2.4", "10.1.2.3"),  # all trusted: the farthest one
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "junk, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "203.0.113.5, junk", "127.0.0.1"),  # garbage from the proxy: the proxy
        ("::ffff:127.0.0.1", "203.0.113.5", "203.0.113.5"),  # IPv4 through an IPv6 socket
        ("::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_address(peer: str, header: str, client: str) -> None:
    assert client_address(peer, header, NGINX) == client


def test_no_trusted_proxies_means_the_header_is_ignored() -> None:
    assert client_address("127.0.0.1", "203.0.113.5", ()) == "127.0.0.1"


def test_a_bad_entry_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ={}, overrides={"web": {"trusted_proxies": ["10.0.0.0/33"]}})
    assert err.value.key == "web.trusted_proxies"
    env = {"DUBAN_WEB__TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    assert load_config(environ=env).web.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")


@SQLITE
def test_behind_nginx_one_guesser_does_not_lock_out_the_county(rt: Runtime, county: County) -> None:
    accounts(rt)
    app = create_app(runtime=rt, TESTING=True)
    for i in range(20):  # a sprayer behind the proxy (the test client's peer is 127.0.0.1)
        r = login(app.test_client(), f"guess{i}", "x" * 12, HTTP_X_FORWARDED_FOR="203.0.113.5")
        assert r.status_code == 401
    guesser = login(app.test_client(), "admin", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert guesser.status_code == 429
    # A forged header in front of the real one does not get the guesser out of the lock...
    forged = login(app.test_client(), "admin", HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.5")
    assert forged.status_code == 429
    # ...and a colleague behind the same proxy signs in.
    assert login(app.test_client(), "admin", HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == (
        302
    )


@SQLITE
def test_without_trusted_proxies_a_forged_header_does_not_escape_the_lock(
    db_url: str, engine: Engine, clock: Clock, rt: Runtime, county: County
) -> None:
    accounts(rt)
    plain = build_runtime(
        load_config(environ={}, overrides={"database": {"url": db_url}}), clock=clock, engine=engine
    )
    app = create_app(runtime=plain, TESTING=True)
    for i in range(20):
        header = f"203.0.113.{i}"  # a new "address" each time: ignored, all from 127.0.0.1
        r = login(app.test_client(), f"guess{i}", "x" * 12, HTTP_X_FORWARDED_FOR=header)
        assert r.status_code == 401
    assert login(app.test_client(), "admin", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == (
        429
    )
