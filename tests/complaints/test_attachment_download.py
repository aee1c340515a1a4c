"""Downloading evidence: only for staff who may view complaints, always as a download."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from complaints.services.attachments import add_attachment
from tests.factories import UserFactory, make_complaint, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(manager, department):
    complaint = make_complaint(user=manager, department=department)
    upload = SimpleUploadedFile("水管 photo (1).png", png_bytes(), content_type="image/png")
    return add_attachment(complaint.pk, user=manager, uploaded=upload)


def download_url(attachment):
    return reverse("complaints:attachment-download", args=[attachment.pk])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("who", ["manager", "handler", "viewer", "superuser"])
def test_download_returns_the_file_as_attachment(
    login_client, manager, handler, superuser, attachment, who
):
    users = {
        "manager": manager,
        "handler": handler,
        "superuser": superuser,
        "viewer": UserFactory(
            username="viewer",
            perms=["complaints.view_complaint", "complaints.view_all_complaints"],
        ),
    }
    response = login_client(users[who]).get(download_url(attachment))
    assert response.status_code == 200
    assert _body(response) == png_bytes()
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    # The original (non-ASCII) name is offered, RFC 5987 encoded.
    assert "filename*=utf-8''%E6%B0%B4%E7%AE%A1%20photo%20%281%29.png" in disposition
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_ascii_name(manager_client, manager):
    complaint = make_complaint(user=manager)
    upload = SimpleUploadedFile("receipt.png", png_bytes(), content_type="image/png")
    attachment = add_attachment(complaint.pk, user=manager, uploaded=upload)
    response = manager_client.get(download_url(attachment))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="receipt.png"'


def test_staff_without_view_permission_gets_404(login_client, attachment):
    outsider = UserFactory(username="outsider", perms=["complaints.view_customer"])
    response = login_client(outsider).get(download_url(attachment))
    assert response.status_code == 404


def test_staff_without_any_permission_gets_404(login_client, attachment):
    nobody = UserFactory(username="nobody")
    assert login_client(nobody).get(download_url(attachment)).status_code == 404


def test_non_staff_user_is_sent_to_login(login_client, attachment):
    customer_user = UserFactory(
        username="notstaff", is_staff=False, perms=["complaints.view_complaint"]
    )
    response = login_client(customer_user).get(download_url(attachment))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_is_redirected_to_login(client, attachment):
    url = download_url(attachment)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "next=" in response["Location"]
    assert url.replace("/", "%2F") in response["Location"] or url in response["Location"]


def test_unknown_attachment_is_404(manager_client):
    assert manager_client.get("/attachments/999999/").status_code == 404


def test_download_link_on_change_page_serves_the_file(manager_client, attachment):
    change = reverse("admin:complaints_complaint_change", args=[attachment.complaint_id])
    html = manager_client.get(change).content.decode()
    assert download_url(attachment) in html
    assert "水管 photo (1).png" in html
    assert _body(manager_client.get(download_url(attachment))) == png_bytes()


def test_another_departments_evidence_does_not_exist(login_client, manager, handler):
    elsewhere = make_complaint(user=manager)  # not in the handler's department
    upload = SimpleUploadedFile("secret.png", png_bytes(), content_type="image/png")
    other = add_attachment(elsewhere.pk, user=manager, uploaded=upload)
    assert login_client(handler).get(download_url(other)).status_code == 404
