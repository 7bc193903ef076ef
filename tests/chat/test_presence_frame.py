"""The presence frame: each person once, grouped by centre; named only in topics that are not big."""

from chat import presence


def entries(*people: tuple[str, str | None]) -> list[dict]:
    return [{"s": f"{name}-{i}", "username": name, "display_name": name.title(), "centre": centre}
            for i, (name, centre) in enumerate(people)]


def test_each_person_once_by_centre_with_counts(settings):
    settings.HUB_PRESENCE_MAX_NAMES = 100
    frame = presence.frame("t", entries(("lan", "HT"), ("lan", "HT"), ("minh", "DN"), ("an", "DN"), ("khach", None)))
    assert frame["count"] == 4
    assert [(c["centre"], c["count"], [u["username"] for u in c["users"]]) for c in frame["online"]] == [
        ("DN", 2, ["an", "minh"]), ("HT", 1, ["lan"]), (None, 1, ["khach"])]


def test_past_the_names_limit_centres_give_counts_and_no_names(settings):
    settings.HUB_PRESENCE_MAX_NAMES = 2
    frame = presence.frame("t", entries(("lan", "HT"), ("minh", "DN"), ("an", "DN")))
    assert frame["count"] == 3
    assert [(c["centre"], c["count"], c["users"]) for c in frame["online"]] == [("DN", 2, []), ("HT", 1, [])]


def test_a_big_topics_frame_stays_small(settings):
    """5,000 people online: the frame every socket gets at each change is counts, not 5,000 names."""
    settings.HUB_PRESENCE_MAX_NAMES = 100
    centres = ["TH", "NA", "HT", "QB", "QT", "DN", "HUE"]
    frame = presence.frame("t", entries(*((f"user{i:04d}", centres[i % 7]) for i in range(5000))))
    from hub.lib.jsonutil import dumps

    assert frame["count"] == 5000 and len(dumps(frame)) < 1000
