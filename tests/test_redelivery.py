"""A webhook update is handled once and never lost, when its delivery fails halfway or a copy
arrives while it is being handled (bot/instances.py ``skip_redelivered``, issue 14 §3).

Telegram sends a webhook update again when the answer was not 2xx. The bot claims each
update's id before handling it; these tests check the claim's two ends: a delivery that
failed on the database gives the update back (the redelivery is handled, not dropped as a
duplicate), and a copy that arrives while the first delivery is still at it is asked to come
again instead of being answered 200 and dropped. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from bot.app import Models, build_application
from bot.db.engine import Database, upgrade_to_head
from bot.db.instances import Claim, ProcessedUpdatesRepository
from bot.db.models import utcnow
from bot.fake_api import FakeBotApi
from bot.webhook import BotHttpServer, webhook_serving
from tests import test_webhook
from tests.dbutil import execute, rows, stored_time
from tests.test_webhook import (
    database_outage,
    one_update,
    post_json,
    webhook_settings,
)

BOT_ID = 4242
server = test_webhook.server  # the fixture: one webhook instance on the test's database


async def test_a_claim_is_taken_once_finished_or_released_and_taken_over_when_stale(
    database_url: str,
) -> None:
    await upgrade_to_head(database_url)
    db = Database.connect(database_url)
    processed = ProcessedUpdatesRepository(db)
    try:
        claim = processed.claim
        assert await claim(BOT_ID, 1, finished=False) is Claim.TAKEN
        assert await claim(BOT_ID, 1, finished=False) is Claim.IN_PROGRESS
        assert await claim(BOT_ID, 1, finished=True) is Claim.IN_PROGRESS  # polling copy too
        await processed.release(BOT_ID, 1)  # failed: Telegram sends it again
        assert await claim(BOT_ID, 1, finished=False) is Claim.TAKEN
        await processed.finish(BOT_ID, 1)
        assert await claim(BOT_ID, 1, finished=False) is Claim.DONE
        await processed.release(BOT_ID, 1)  # a finished update is never given back
        assert await claim(BOT_ID, 1, finished=False) is Claim.DONE
        # polling: final at once; another bot's update 1 is another update
        assert await claim(BOT_ID, 2, finished=True) is Claim.TAKEN
        assert await claim(BOT_ID, 2, finished=False) is Claim.DONE
        assert await claim(BOT_ID + 1, 1, finished=False) is Claim.TAKEN
        # a claim whose holder vanished is taken over after STALE_CLAIM, not before
        assert await claim(BOT_ID, 3, finished=False) is Claim.TAKEN
        soon = utcnow() + timedelta(seconds=30)
        assert await claim(BOT_ID, 3, finished=False, now=soon) is Claim.IN_PROGRESS
        later = utcnow() + timedelta(seconds=61)
        assert await claim(BOT_ID, 3, finished=False, now=later) is Claim.TAKEN
        assert await claim(BOT_ID, 3, finished=False, now=later) is Claim.IN_PROGRESS
    finally:
        await db.close()


def fail_once_in_favorites_page(
    server: BotHttpServer, failure: Callable[[], Awaitable[None]]
) -> None:
    """The next /favorites listing runs ``failure`` first (after the update was claimed)."""
    favorites = server.app.bot_data["services"].favorites
    real_page = favorites.page

    async def page(*args: Any, **kwargs: Any) -> Any:
        favorites.page = real_page
        await failure()
        return await real_page(*args, **kwargs)

    favorites.page = page


async def claimed(database_url: str, update_id: int, timeout: float = 5.0) -> None:
    """Wait until some instance has claimed the update (it is then being handled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = "SELECT done FROM processed_updates WHERE update_id = :u"
    while not await asyncio.to_thread(rows, database_url, query, u=update_id):
        assert loop.time() < deadline, f"update {update_id} was never claimed"
        await asyncio.sleep(0.02)


def replies(api: FakeBotApi, since: int) -> list[str]:
    return [c["params"]["text"] for c in api.calls[since:] if c["method"] == "sendMessage"]


async def test_a_delivery_that_failed_on_the_database_is_handled_when_sent_again(
    api: FakeBotApi, server: BotHttpServer
) -> None:
    """A transient database error (a serialization failure, a dropped connection) halfway
    through: 500, no apology, and the claim is given back, so the redelivery a moment later
    gets the real answer. (Recorded and kept, the id would drop the redelivery as a
    duplicate: the user would never get an answer.)"""

    async def dropped_connection() -> None:
        raise OperationalError("SELECT", {}, ConnectionResetError("server closed the connection"))

    fail_once_in_favorites_page(server, dropped_connection)
    api.send_message("/favorites")
    update = one_update(api)
    since = api.mark()
    assert (await post_json(server.port, update)).status == 500
    assert replies(api, since) == []
    assert (await post_json(server.port, update)).status == 200
    [listing] = replies(api, since)
    assert "favourite" in listing.lower()
    assert (await post_json(server.port, update)).status == 200  # now a duplicate: dropped
    assert len(replies(api, since)) == 1


async def test_a_delivery_that_lost_the_database_is_asked_again_until_its_claim_is_stale(
    api: FakeBotApi, server: BotHttpServer, database_url: str
) -> None:
    """The database goes away after the update was claimed, so the claim cannot be given
    back either. Copies meanwhile get 500 ("send it again", never a 200 that drops it), and
    once the claim is older than STALE_CLAIM the next copy is handled: answered once."""
    outage = AsyncExitStack()

    async def database_goes_away() -> None:
        await outage.enter_async_context(database_outage(server.app, database_url))

    fail_once_in_favorites_page(server, database_goes_away)
    api.send_message("/favorites")
    update = one_update(api)
    since = api.mark()
    try:
        assert (await post_json(server.port, update)).status == 500
    finally:
        await outage.aclose()
    assert replies(api, since) == []
    assert (await post_json(server.port, update)).status == 500  # claim still open
    assert replies(api, since) == []
    [(claimed_at,)] = rows(
        database_url,
        "SELECT processed_at FROM processed_updates WHERE update_id = :u",
        u=update["update_id"],
    )
    execute(
        database_url,
        "UPDATE processed_updates SET processed_at = :t WHERE update_id = :u",
        t=stored_time(claimed_at) - timedelta(seconds=61),  # a minute later, as it were
        u=update["update_id"],
    )
    assert (await post_json(server.port, update)).status == 200
    assert len(replies(api, since)) == 1
    assert (await post_json(server.port, update)).status == 200
    assert len(replies(api, since)) == 1


async def test_a_copy_arriving_while_the_first_delivery_is_handled_is_asked_again(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """Two instances: instance 0 is still sending the answer (its sendMessage stalls) when
    Telegram's copy reaches instance 1. The copy gets a 500, not a 200 that would drop it,
    because the first delivery could still fail; once the first is answered 200, a further
    copy is dropped with 200. One answer in all."""
    settings = webhook_settings(api, database_url)
    async with (
        webhook_serving(build_application(settings, shipped_models), settings, port=0) as first,
        webhook_serving(build_application(settings, shipped_models), settings, port=0) as second,
    ):
        api.stall("sendMessage", 1.5)
        api.send_message("/help")
        update = one_update(api)
        since = api.mark()
        handling = asyncio.create_task(post_json(first.port, update))
        await claimed(database_url, update["update_id"])
        assert (await post_json(second.port, update)).status == 500
        assert (await handling).status == 200
        assert (await post_json(second.port, update)).status == 200
        assert len(replies(api, since)) == 1
