"""Previewing evidence in the browser: only images and PDFs whose stored bytes say so, with
nosniff and a restrictive CSP, and only for those who may see the complaint."""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from complaints.models import Attachment
from complaints.services.attachments import add_attachment
from tests.factories import UserFactory, make_complaint, pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def complaint(team):
    return make_complaint(user=team["manager"], department=team["service"])


def attach(complaint, user, name, content, mime):
    return add_attachment(
        complaint.pk, user=user, uploaded=SimpleUploadedFile(name, content, content_type=mime)
    )


def view_url(attachment):
    return reverse("complaints:attachment-view", args=[attachment.pk])


def test_an_image_is_shown_inline_in_a_sandbox(team, complaint, login_client):
    image = attach(complaint, team["manager"], "漏水.png", png_bytes(), "image/png")
    response = login_client(team["handler.service"]).get(view_url(image))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "no-store" in response["Cache-Control"]  # evidence is not kept in caches


def test_a_pdf_is_shown_inline_without_scripts(team, complaint, login_client):
    pdf = attach(complaint, team["manager"], "invoice.pdf", pdf_bytes(), "application/pdf")
    response = login_client(team["handler.service"]).get(view_url(pdf))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]


def forged(complaint, user, content: bytes, recorded_type: str, name: str) -> Attachment:
    """A stored file whose recorded type says image but whose bytes are something else (the
    row written around the upload checks, as an old import or a tampered file would be)."""
    row = Attachment(
        complaint=complaint,
        original_name=name,
        content_type=recorded_type,
        size=len(content),
        sha256="0" * 64,
        uploaded_by=user,
    )
    row.file.save(name, ContentFile(content), save=False)
    row.save()
    return row


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg"),
        (b"<!doctype html><script>alert(document.cookie)</script>", "x.png"),
        (b"just some text", "notes.txt"),
    ],
)
def test_anything_else_is_never_inline(team, complaint, login_client, content, name):
    row = forged(complaint, team["manager"], content, "image/png", name)
    response = login_client(team["handler.service"]).get(view_url(row))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_preview_follows_the_complaints_isolation(team, complaint, login_client, client):
    image = attach(complaint, team["manager"], "leak.png", png_bytes(), "image/png")
    # Another department's handler: the evidence does not exist for them.
    assert login_client(team["handler.property"]).get(view_url(image)).status_code == 404
    # Staff without the right to view complaints.
    nobody = UserFactory(username="nobody", perms=["complaints.view_customer"])
    assert login_client(nobody).get(view_url(image)).status_code == 404
    # Not logged in: the login page, not the file.
    anonymous = client.get(view_url(image))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_the_attachment_row_has_a_thumbnail_and_a_working_download(team, complaint, login_client):
    image = attach(complaint, team["manager"], "photo.png", png_bytes(), "image/png")
    pdf = attach(complaint, team["manager"], "invoice.pdf", pdf_bytes(), "application/pdf")
    client = login_client(team["handler.service"])
    html = client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])).content
    html = html.decode()
    url = view_url(image)
    assert re.search(rf'<a class="attachment-preview" href="{url}"[^>]*><img src="{url}"', html)
    assert f'href="{view_url(pdf)}"' in html and "View PDF" in html
    # Issue #11 defect 8: the row's own download link answered 404. Follow every link.
    downloads = set(re.findall(r'href="(/attachments/\d+/)"', html))
    assert downloads == {
        reverse("complaints:attachment-download", args=[a.pk]) for a in (image, pdf)
    }
    for url in downloads:
        assert client.get(url).status_code == 200
    # The timeline's attachment entries link the preview too.
    assert html.count('class="attachment-view') == 2


def test_zh_hans_labels(team, complaint, login_client):
    attach(complaint, team["manager"], "invoice.pdf", pdf_bytes(), "application/pdf")
    html = (
        login_client(team["handler.service"])
        .get(
            reverse("admin:complaints_complaint_change", args=[complaint.pk]),
            headers={"accept-language": "zh-hans"},
        )
        .content.decode()
    )
    assert "查看 PDF" in html and "预览" in html
