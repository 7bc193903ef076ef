from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    # The folder is named `requests` (the product's "support requests"); the label avoids any
    # confusion with the PyPI library of that name, which this project never imports.
    name = "requests"
    label = "support_requests"
    verbose_name = _("Support requests")
