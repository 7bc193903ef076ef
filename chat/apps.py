from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Topic channels")

    def ready(self) -> None:
        # A direct conversation is a topic of kind "direct" that only its members see (issue 26 §1):
        # one filter, from which chat.access derives the single-topic check.
        from chat.access import register_topic_access
        from chat.selectors import member_q

        register_topic_access("direct", visible_q=member_q)
