"""Evidence images and files: fetched through WeCom's media/get (the fake) and kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.config import load_config
from bot.delivery.media import fetch_pending
from bot.inbound.pipeline import handle_message
from bot.runtime import Runtime, build_runtime
from models import Progress
from tests.conftest import Clock, County, Fake


def test_media_is_fetched_once_and_kept(
    db_url: str, engine: object, clock: Clock, fake: Fake, county: County, tmp_path: Path
) -> None:
    cfg = load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "wecom": {
                "corp_id": "wwfake",
                "secret": "fake-secret",
                "agent_id": 1,
                "api_base_url": fake.url,
            },
            "storage": {"evidence_dir": str(tmp_path / "evidence")},
        },
    )
    rt = build_runtime(cfg, clock=clock, engine=engine)  # type: ignore[arg-type]
    handle_message(rt, channel="wecom", sender="cgz_liaison", text="完成 #3", msg_key="m1")
    for key, media in (("m2", "MEDIA-photo-1"), ("m3", "NOSUCHMEDIA")):
        reply = handle_message(
            rt,
            channel="wecom",
            sender="cgz_liaison",
            text="[image]",
            msg_key=key,
            msg_type="image",
            media_id=media,
        ).reply
        assert "佐证材料" in reply
    assert fetch_pending(rt) == 1
    with rt.sessions() as s:
        entries = s.scalars(
            select(Progress).where(Progress.kind == "evidence").order_by(Progress.id)
        ).all()
        good, bad = entries[0].attachments[0], entries[1].attachments[0]
    assert good["status"] == "stored" and good["size"] > 0
    assert (tmp_path / "evidence" / good["file"]).read_bytes().startswith(b"\x89PNG")
    assert bad["status"] == "failed" and bad["error"].startswith("40007")
    assert fetch_pending(rt) == 0  # nothing fetched twice
    calls = fake.state.calls  # type: ignore[attr-defined]
    assert calls["media/get"] == 2
    # The dashboard serves the stored file to a logged-in supervisor, and nothing else.
    import re

    from bot.app import create_app
    from bot.web.auth import create_account

    with rt.sessions() as s:
        create_account(s, "duchashi", "correct horse battery")
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    assert client.get(f"/evidence/{entries[0].id}/0").status_code == 302  # login first
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    ).group(1)  # type: ignore[union-attr]
    client.post(
        "/login",
        data={"username": "duchashi", "password": "correct horse battery", "csrf_token": token},
    )
    r = client.get(f"/evidence/{entries[0].id}/0")
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")
    assert client.get(f"/evidence/{entries[1].id}/0").status_code == 404  # failed download
    assert client.get("/task/3").status_code == 200


def test_media_older_than_wecom_keeps_it_expires(
    db_url: str, engine: object, clock: Clock, fake: Fake, county: County, tmp_path: Path
) -> None:
    cfg = load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "wecom": {
                "corp_id": "wwfake",
                "secret": "fake-secret",
                "agent_id": 1,
                "api_base_url": fake.url,
            },
            "storage": {"evidence_dir": str(tmp_path)},
        },
    )
    rt = build_runtime(cfg, clock=clock, engine=engine)  # type: ignore[arg-type]
    handle_message(rt, channel="wecom", sender="cgz_liaison", text="完成 #3", msg_key="m1")
    handle_message(
        rt,
        channel="wecom",
        sender="cgz_liaison",
        text="[image]",
        msg_key="m2",
        msg_type="image",
        media_id="MEDIA-late",
    )
    clock.advance(hours=73)
    assert fetch_pending(rt) == 0
    with rt.sessions() as s:
        entry = s.scalars(select(Progress).where(Progress.kind == "evidence")).one()
        assert entry.attachments[0]["status"] == "expired"


def test_sandbox_has_nothing_to_fetch(rt: Runtime) -> None:
    assert rt.config.sandbox and fetch_pending(rt) == 0
