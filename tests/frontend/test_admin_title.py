"""The admin speaks the viewer's language, its own title included (issue 23: it said "Django
administration" in a Vietnamese session)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "title"), [("vi", "Quản trị Hub liên trung tâm"),
                                                 ("en", "Inter-Centre Hub administration")])
def test_the_admin_title_is_the_hubs_in_the_viewers_language(client, make_user, language, title):
    admin = make_user("admin", centre=None, role="hub_admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.cookies["django_language"] = language
    page = client.get("/admin/").content.decode()
    assert title in page
    assert "Django administration" not in page and "Trang quản trị Django" not in page
