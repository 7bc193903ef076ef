"""Authorisation lasts only as long as the credentials: revoked tokens and deactivated users are cut
off on their live sockets (issue 8), at once through a control event, and by a periodic re-check."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.models import ApiToken, User, WsTicket
from hub.services import deactivate_user, revoke_tokens

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user, token=None) -> WebsocketCommunicator:
    ticket = await sync_to_async(WsTicket.issue)(user, token=token)
    socket = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
    return socket


async def assert_closed_with(socket: WebsocketCommunicator, code: int) -> None:
    message = await socket.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": code}


async def test_revoking_the_token_closes_sockets_opened_with_its_tickets_only(make_user):
    user = await sync_to_async(make_user)("siem.ht", centre="HT", role="security_officer")
    token, _ = await sync_to_async(ApiToken.issue)(user)
    other_token, _ = await sync_to_async(ApiToken.issue)(user)
    by_token = await open_socket(user, token)
    by_other = await open_socket(user, other_token)
    await sync_to_async(revoke_tokens)(ApiToken.objects.filter(pk=token.pk))
    await assert_closed_with(by_token, 4401)
    assert await by_other.receive_nothing(timeout=0.5)
    await by_other.disconnect()


async def test_a_ticket_from_a_revoked_token_is_worthless(make_user):
    user = await sync_to_async(make_user)("siem.dn", centre="DN", role="security_officer")
    token, _ = await sync_to_async(ApiToken.issue)(user)
    ticket = await sync_to_async(WsTicket.issue)(user, token=token)
    await sync_to_async(token.revoke)()
    assert await sync_to_async(WsTicket.redeem)(ticket) is None


async def test_deactivating_a_user_closes_all_their_sockets(make_user):
    user = await sync_to_async(make_user)("qt.engineer", centre="QT")
    first, second = await open_socket(user), await open_socket(user)
    await sync_to_async(deactivate_user)(user)
    await assert_closed_with(first, 4401)
    await assert_closed_with(second, 4401)


async def test_deactivation_through_the_admin_model_save_also_cuts_off(make_user):
    user = await sync_to_async(make_user)("na.engineer", centre="NA")
    socket = await open_socket(user)

    def deactivate_in_admin():
        obj = User.objects.get(pk=user.pk)
        obj.is_active = False
        obj.save()

    await sync_to_async(deactivate_in_admin)()
    await assert_closed_with(socket, 4401)


async def test_periodic_recheck_catches_a_change_that_sent_no_event(make_user, settings):
    settings.HUB_WS_REVALIDATE_SECONDS = 1
    user = await sync_to_async(make_user)("kt.engineer", centre="KT")
    socket = await open_socket(user)
    # Raw SQL sends no signal and no control event (a bulk update now does): only the re-check can notice.
    from tests.chat.test_batch_frames import deactivate_silently

    await sync_to_async(deactivate_silently)(user.pk)
    await assert_closed_with(socket, 4401)
