"""Group names, one place: a socket joins the groups of its identity (hub/realtime/notifications.py)
and its topic; services publish to them (hub/realtime/publisher.py)."""

ALL = "all"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def centre_group(code: str) -> str:
    return f"centre.{code}"


def role_group(role: str) -> str:
    return f"role.{role}"


def topic_group(slug: str) -> str:
    return f"topic.{slug}"


def control_group(user_id: int) -> str:
    """Every socket of a user joins this group, whatever its route (see hub/services.py)."""
    return f"control.{user_id}"
