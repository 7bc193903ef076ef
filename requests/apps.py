from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    # The folder is named `requests` (the product's "support requests"); the label avoids any
    # confusion with the PyPI library of that name, which this project never imports.
    name = "requests"
    label = "support_requests"
    verbose_name = _("Support requests")

    def ready(self) -> None:
        # A ticket's discussion thread is a chat topic of kind "ticket"; chat asks us who may see it,
        # and the answer is exactly the ticket's viewers (requests.selectors), nobody else: one
        # filter, from which chat derives its check on a single thread.
        from chat.access import register_topic_access
        from requests.selectors import thread_visible_q

        register_topic_access("ticket", visible_q=thread_visible_q)

        # A centre's working time changed (worktime/signals.py, after commit): the open requests whose
        # clocks run in it get their due times again at once, not at their next change.
        from worktime.signals import working_time_changed

        working_time_changed.connect(_reschedule, dispatch_uid="requests.reschedule_open_tickets")


def _reschedule(sender, *, centres, **kwargs) -> None:
    from requests.services import reschedule_open_tickets

    reschedule_open_tickets(centres=centres)
