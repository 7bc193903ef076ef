"""Two-factor sign-in: a TOTP authenticator (RFC 6238) and single-use recovery codes, with django-otp.

Who must use it: people with a role in `HUB_2FA_REQUIRED_ROLES` (production default: security
officers, managers and hub admins; superusers count as hub admins); anyone else may enrol from their
own security page (/accounts/security/). The sign-in flow (frontend/signin.py): the password first
(counted by django-axes), then — for anyone with a confirmed device — a code from the authenticator or
a recovery code on a second page; a wrong code counts as a failed sign-in too, so the same lockout
stops guessing. A person whose role requires it and who has no device yet is signed in only as far as
their security page, to enrol. A session is "verified" once a device accepted a code in it
(`django_otp.login`); pages, the API over a session and session WebSockets all ask `session_verified`
(hub/middleware.py, hub/lib/api_support.py, hub/realtime/identity.py). API tokens are unaffected:
they are issued by someone already signed in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user, match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.models import User

RECOVERY_CODES = 10
AUTHENTICATOR = "authenticator"
RECOVERY = "recovery"


def required_for(user: User) -> bool:
    """Whether `user`'s role obliges them to sign in with a second factor."""
    required = settings.HUB_2FA_REQUIRED_ROLES
    return bool(required) and any(role in required for role in user.roles)


def has_device(user: User) -> bool:
    """A confirmed authenticator: the person signs in with a code."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_enrolment(user: User) -> TOTPDevice:
    """The person's authenticator being set up (unconfirmed), made if there is none: its key is what
    the QR code carries. A confirmed one is left alone until the new one is confirmed."""
    device = TOTPDevice.objects.filter(user=user, name=AUTHENTICATOR, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def readable_key(device: TOTPDevice) -> str:
    """The key as people type it into an authenticator without a camera: base32, in groups of four."""
    from base64 import b32encode

    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def confirm_enrolment(user: User, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the pending authenticator with a code it shows now: it replaces any earlier one, and a
    fresh set of recovery codes is made (shown once). Returns both, or None when the code is wrong."""
    device = TOTPDevice.objects.filter(user=user, name=AUTHENTICATOR, confirmed=False).first()
    if device is None or not device.verify_token(clean_code(code)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
    return device, codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes (the old ones stop working); returns the new ones."""
    with transaction.atomic():
        return _new_recovery_codes(user)


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user: User, code: Any) -> Device | None:
    """The confirmed device that accepts `code` now — a TOTP code, or a recovery code (used up) — or
    None. django-otp throttles each device after failures on top of the hub's lockout."""
    if not isinstance(code, str):
        return None
    code = clean_code(code)
    if not code or len(code) > 32:
        return None
    return match_token(user, code)


def clean_code(code: str) -> str:
    """What people type: spaces and dashes dropped ("123 456"), case ignored for recovery codes."""
    return "".join(code.split()).replace("-", "").lower()


def disable(user: User) -> None:
    """Remove the person's authenticator and recovery codes (only where their role allows it)."""
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=None):
            device.delete()


def session_verified(data: dict[str, Any], user: User) -> bool:
    """Whether a session (its data) may act for `user`: always when their role does not require a
    second factor, else only once one of their confirmed devices accepted a code in it."""
    if not required_for(user):
        return True
    persistent_id = data.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def request_verified(request) -> bool:
    """`session_verified` for an HTTP request signed in by its session (after OTPMiddleware)."""
    user = request.user
    if not required_for(user):
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())
