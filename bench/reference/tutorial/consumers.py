"""The consumer of the Channels tutorial ("Rewrite Chat Server as Asynchronous"), speaking the hub's
frames: every message is one `group_send`, delivered by the layer to each socket's own channel, and
each recipient's consumer encodes its own copy with `json.dumps`. That per-recipient cost is what the
hub's design removes; this is the baseline it is measured against."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["slug"]
        self.room_group_name = f"chat_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data):
        data = json.loads(text_data)
        await self.channel_layer.group_send(
            self.room_group_name,
            {"type": "chat.message", "body": data.get("body", ""), "client_id": data.get("client_id")},
        )

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({
            "type": "message",
            "message": {"topic": self.room_name, "body": event["body"], "client_id": event["client_id"]},
        }))
