import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """make_user hashes a password per person; the slow production hasher adds nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
