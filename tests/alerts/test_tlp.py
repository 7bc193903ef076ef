"""TLP decides who sees an alert — over HTTP (list, detail, search), on the notifications socket and
in the summary message posted to the security topic. Someone outside the audience learns nothing."""

import pytest
from asgiref.sync import sync_to_async

from alerts.selectors import audience_of, visible_alerts
from tests.alerts.conftest import listen, next_alert_frame, raise_as

# Who sees what, HT raising; "red" is shared with DN only.
EXPECTED = {
    "clear": {"ht_security", "ht_manager", "dn_security", "dn_manager", "dn_engineer", "qb_manager", "qb_engineer",
              "admin"},
    "green": {"ht_security", "ht_manager", "dn_security", "dn_manager", "dn_engineer", "qb_manager", "qb_engineer",
              "admin"},
    "amber": {"ht_security", "ht_manager", "dn_security", "dn_manager", "qb_manager", "admin"},
    "red": {"ht_security", "ht_manager", "dn_security", "dn_manager", "dn_engineer", "admin"},
}
PEOPLE = sorted(EXPECTED["clear"])


def raise_tlp(cast, tlp):
    return raise_as(cast.ht_security, tlp=tlp, title=f"Sự cố thử nghiệm {tlp}",
                    shared_with=["DN"] if tlp == "red" else [])


@pytest.mark.django_db
@pytest.mark.parametrize("tlp", list(EXPECTED))
def test_http_list_and_detail_show_an_alert_only_to_its_tlp_audience(cast, api_client, tlp):
    alert = raise_tlp(cast, tlp)
    for name in PEOPLE:
        client = api_client(getattr(cast, name))
        listed = [a["id"] for a in client.get("/api/v1/alerts").json()["results"]]
        detail = client.get(f"/api/v1/alerts/{alert.pk}")
        if name in EXPECTED[tlp]:
            assert listed == [alert.pk], name
            assert detail.status_code == 200, name
        else:
            assert listed == [], name
            # The same answer as for an alert that does not exist: existence is not revealed.
            assert detail.status_code == 404, name
            assert detail.json() == client.get("/api/v1/alerts/999999").json()


@pytest.mark.django_db
def test_the_database_filter_and_the_socket_audience_are_the_same_rule(cast):
    alerts = [raise_tlp(cast, tlp) for tlp in EXPECTED]
    for person in cast.everyone():
        visible = set(visible_alerts(person).values_list("pk", flat=True))
        for alert in alerts:
            assert (alert.pk in visible) == audience_of(alert).allows(person), (person.username, alert.tlp)


@pytest.mark.django_db
def test_search_finds_alerts_without_accents_but_never_outside_the_audience(cast, api_client):
    red = raise_as(cast.ht_security, tlp="red", shared_with=["DN"], title="Rò rỉ dữ liệu Đà Nẵng")
    raise_as(cast.ht_security, tlp="green", title="Lỗ hổng máy chủ thư")
    for user, expected in [(cast.dn_engineer, [red.pk]), (cast.qb_manager, []), (cast.admin, [red.pk])]:
        response = api_client(user).get("/api/v1/alerts", {"q": "ro ri du lieu da nang"})
        assert [a["id"] for a in response.json()["results"]] == expected, user.username
    # Indicators are searchable too.
    response = api_client(cast.dn_engineer).get("/api/v1/alerts", {"q": "203.0.113.7"})
    assert len(response.json()["results"]) == 2


@pytest.mark.django_db
def test_list_filters_and_cursor_pagination(cast, api_client):
    ids = [raise_as(cast.ht_security, severity=s, title=f"Cảnh báo {s}").pk for s in ["low", "high", "high"]]
    client = api_client(cast.dn_manager)
    first = client.get("/api/v1/alerts", {"limit": 2}).json()
    second = client.get("/api/v1/alerts", {"limit": 2, "cursor": first["next"]}).json()
    assert [a["id"] for a in first["results"] + second["results"]] == ids[::-1]
    assert second["next"] is None
    assert [a["id"] for a in client.get("/api/v1/alerts", {"severity": "high"}).json()["results"]] == ids[:0:-1]
    response = client.get("/api/v1/alerts", {"severity": "extreme"})
    assert response.status_code == 400 and response.json()["error"]["fields"] == ["severity"]


@pytest.mark.django_db
@pytest.mark.parametrize("tlp", ["amber", "red"])
def test_the_summary_message_in_the_security_topic_follows_the_alert_audience(cast, api_client, tlp):
    alert = raise_tlp(cast, tlp)
    for name in PEOPLE:
        client = api_client(getattr(cast, name))
        history = client.get("/api/v1/topics/an-toan-thong-tin/messages").json()["results"]
        found = client.get("/api/v1/search", {"q": f"su co thu nghiem {tlp}"}).json()["results"]
        summaries = [m for m in history if m["client_id"] == f"alert-{alert.pk}"]
        if name in EXPECTED[tlp]:
            assert len(summaries) == 1, name
            assert f"/alerts/{alert.pk}/" in summaries[0]["html"]
            assert summaries[0]["body"].startswith(f"**Cảnh báo ATTT #{alert.pk} · Cao · TLP:{tlp.upper()}**")
            assert [m["id"] for m in found] == [summaries[0]["id"]], name
        else:
            assert summaries == [] and found == [], name


@pytest.mark.django_db(transaction=True)
async def test_alert_frames_reach_only_the_tlp_audience_on_the_notifications_socket(cast):
    sockets = {name: await listen(getattr(cast, name)) for name in PEOPLE}
    try:
        raised = {}
        for tlp in ["amber", "red", "clear"]:
            raised[tlp] = await sync_to_async(raise_tlp)(cast, tlp)
        for name, socket in sockets.items():
            # Frames arrive in the order raised; the public (clear) alert comes last for everyone, so
            # reading up to it proves which of the restricted ones this person did or did not get.
            seen: list[int] = []
            while not seen or seen[-1] != raised["clear"].pk:
                frame = await next_alert_frame(socket)
                assert frame["event"] == "raised"
                seen.append(frame["alert"]["id"])
            expected = [raised[t].pk for t in ["amber", "red", "clear"] if name in EXPECTED[t]]
            assert seen == expected, name
    finally:
        for socket in sockets.values():
            await socket.disconnect()


@pytest.mark.parametrize("raiser", ["ht", "admin"])
def test_the_filter_and_the_rule_agree_for_every_marking_sharing_and_viewer(make_user, raiser):
    """`visible_alerts` (SQL) and `audience_of` (what sockets check) are two forms of one rule: held to
    each other for every TLP, every sharing of the alert, a raising centre or none, and a person of
    every (centre, role), none, inactive and admin."""
    from itertools import product

    from alerts.services import raise_alert
    from hub.sharing import Tlp

    people = [make_user(f"{c.lower()}.{r}", centre=c, role=r)
              for c, r in product(["HT", "DN", "QB"], ["engineer", "security_officer", "manager"])]
    people += [make_user("lone.manager", centre=None, role="manager"), make_user("root", centre=None, role="hub_admin")]
    author = people[1] if raiser == "ht" else people[-1]
    alerts = []
    for tlp, shared in product(Tlp.values, [[], ["DN"], ["DN", "QB"]]):
        if shared and tlp in ("clear", "green"):
            continue
        if not shared and tlp == "red" and raiser == "admin":
            continue  # refused: a TLP:RED alert from outside any centre must name its centres
        alerts.append(raise_alert(by=author, title=f"{tlp} {shared}", severity="low", tlp=tlp,
                                  shared_with=shared))
    disagreements = []
    for person in people:
        visible = set(visible_alerts(person).values_list("pk", flat=True))
        disagreements += [(person.username, a.tlp, sorted(c.code for c in a.shared_with.all()))
                          for a in alerts if (a.pk in visible) != audience_of(a).allows(person)]
    assert disagreements == []


@pytest.mark.parametrize("raiser", ["ht", "admin"])
def test_the_recipient_centres_are_one_rule_read_two_ways(make_user, raiser):
    """The detail's recipient centres (`recipient_centre_list`, from the one compiled list of every
    centre) are `recipient_centres`' (a queryset): the same centres in the same order, for every TLP,
    every sharing, a raising centre or none."""
    from itertools import product

    from alerts.selectors import get_visible_alert, recipient_centre_list, recipient_centres
    from alerts.services import raise_alert
    from hub.sharing import Tlp

    author = make_user("ht.security", centre="HT", role="security_officer")
    for code in ("DN", "QB", "HUE"):
        make_user(f"{code.lower()}.engineer", centre=code, role="engineer")
    if raiser == "admin":
        author = make_user("root", centre=None, role="hub_admin")
    checked = 0
    for tlp, shared in product(Tlp.values, [[], ["DN"], ["DN", "QB"]]):
        if (shared and tlp in ("clear", "green")) or (not shared and tlp == "red" and raiser == "admin"):
            continue
        raised = raise_alert(by=author, title=f"{tlp} {shared}", severity="low", tlp=tlp, shared_with=shared)
        for alert in (raised, get_visible_alert(author, raised.pk)):
            assert recipient_centre_list(alert) == list(recipient_centres(alert)), (tlp, shared)
            checked += 1
    assert checked >= 14
