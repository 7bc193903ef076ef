from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = _("Inter-Centre Hub")

    def ready(self) -> None:
        import sys

        from django.conf import settings

        from hub import metrics, signals  # noqa: F401  (signals: connects the receivers)

        metrics.setup()

        sys.setswitchinterval(settings.HUB_SWITCH_INTERVAL)
        if settings.HUB_GC_THRESHOLD > 0:
            import gc

            gc.freeze()  # what start-up allocated lives as long as the process: never scan it again
            gc.set_threshold(settings.HUB_GC_THRESHOLD, *gc.get_threshold()[1:])
