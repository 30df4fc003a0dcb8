"""WeCom API access through wechatpy, with every host configurable (政务微信, private
deployments, the fake on loopback) and access tokens shared by all processes via the database.

wechatpy 1.8 hardcodes the gettoken host, fetches without a timeout and retries a token error
by unbounded recursion; this subclass fixes those three and keeps the rest of wechatpy.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.enterprise.client import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from models import Setting

log = logging.getLogger(__name__)
TOKEN_ERRORS = (40001, 40014, 42001)
# Refresh this long before WeCom's stated expiry, so no call races the deadline.
TOKEN_MARGIN = dt.timedelta(seconds=300)


class DatabaseTokenStorage(SessionStorage):
    """wechatpy session storage on the `setting` table, honouring expiry."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        with self.sessions() as s:
            row = s.get(Setting, f"token:{key}")
            if row is None or (row.expires_at is not None and row.expires_at <= self.clock()):
                return default
            return row.value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = None
        if ttl:
            expires = self.clock() + dt.timedelta(seconds=int(ttl)) - TOKEN_MARGIN
        with self.sessions() as s:
            row = s.get(Setting, f"token:{key}")
            if row is None:
                s.add(Setting(key=f"token:{key}", value=str(value), expires_at=expires))
            else:
                row.value, row.expires_at = str(value), expires
            s.commit()

    def delete(self, key: str) -> None:
        with self.sessions() as s:
            row = s.get(Setting, f"token:{key}")
            if row is not None:
                s.delete(row)
                s.commit()


class SharedToken:
    """Token handling shared by the WeCom and official-account clients: fetched from a
    configurable URL with a timeout, kept in the shared storage until shortly before expiry."""

    _http: Any
    session: SessionStorage
    timeout: float
    access_token_key: str

    def _fetch_token(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        res = self._http.get(url, timeout=self.timeout, params=params)
        res.raise_for_status()
        result = res.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        self.session.set(
            self.access_token_key, result["access_token"], result.get("expires_in", 7200)
        )
        log.info("access token fetched from %s (expires in %ss)", url, result.get("expires_in"))
        return result

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        if not token:
            self.fetch_access_token()  # type: ignore[attr-defined]  # each client class defines it
            token = self.session.get(self.access_token_key)
        return str(token)


class WecomClient(SharedToken, WeChatClient):
    """wechatpy's enterprise client pointed at a configurable base URL."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        base_url: str,
        storage: SessionStorage,
        timeout: float = 10.0,
        token_retries: int = 1,
    ) -> None:
        super().__init__(corp_id, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url.rstrip("/") + "/cgi-bin/"
        self.token_retries = token_retries

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_token(
            self.API_BASE_URL + "gettoken", {"corpid": self.corp_id, "corpsecret": self.secret}
        )

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One call, refreshing the token and retrying at most `token_retries` times."""
        for attempt in range(self.token_retries + 1):
            call = {**kwargs, "params": dict(kwargs.get("params") or {})}
            call["params"].pop("access_token", None)
            try:
                return super()._request(method, url_or_endpoint, **call)
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt < self.token_retries:
                    log.info("wecom token rejected (%s); refreshing", exc.errcode)
                    self.session.delete(self.access_token_key)
                    continue
                raise
        raise AssertionError("unreachable")

    def get_media(self, media_id: str) -> requests.Response:
        """media/get, returning the raw response (bytes or an error document)."""
        return self.get(
            "media/get", params={"media_id": media_id}, result_processor=None, stream=False
        )


class OfficialAccountClient(SharedToken, WeChatClient):
    """Token source for the official account's customer-service messages."""

    def __init__(
        self,
        app_id: str,
        secret: str,
        *,
        base_url: str,
        storage: SessionStorage,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(app_id, secret, session=storage, timeout=timeout, auto_retry=False)
        self.base = base_url.rstrip("/")
        self.app_id = app_id

    # wechatpy's own access_token_key is a property too; SharedToken only declares the name.
    @property
    def access_token_key(self) -> str:  # type: ignore[override]
        return f"wechat_{self.app_id}_access_token"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_token(
            self.base + "/cgi-bin/token",
            {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret},
        )


def app_client(
    sessions: sessionmaker[Session],
    clock: Callable[[], dt.datetime],
    corp_id: str,
    secret: str,
    base_url: str,
    timeout: float,
) -> WecomClient:
    """The self-built app's client, its token shared with every process through the
    database."""
    return WecomClient(
        corp_id,
        secret,
        base_url=base_url,
        storage=DatabaseTokenStorage(sessions, clock),
        timeout=timeout,
    )
