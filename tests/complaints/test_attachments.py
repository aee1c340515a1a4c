"""Evidence uploads: size limit, type detected from the content, generated stored name,
SHA-256 checksum and a timeline entry."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from complaints.models import Attachment, Complaint, ComplaintEvent
from complaints.services import attachments
from complaints.services.errors import ServiceError
from tests.factories import UserFactory, make_complaint, pdf_bytes, png_bytes

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TEXT = "投诉记录：客户 3 月 9 日来电，反映浴室天花板漏水。\nRecorded by the hotline.\n".encode()
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 112 + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 44


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("name", "content", "mime", "ext"),
    [
        ("ceiling.png", png_bytes(), "image/png", ".png"),
        ("CEILING.PNG", png_bytes(), "image/png", ".png"),
        ("invoice.pdf", pdf_bytes(), "application/pdf", ".pdf"),
        ("call-notes.txt", TEXT, "text/plain", ".txt"),
        ("with-bom.txt", b"\xef\xbb\xbf" + TEXT, "text/plain", ".txt"),
        ("orders.csv", b"order,amount\nA-1,12.50\n", "text/plain", ".csv"),
    ],
)
def test_accepted_types(name, content, mime, ext, db):
    assert attachments.validate_upload(upload(name, content)) == (mime, ext)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.png", b""),
        ("setup.exe", EXE),
        ("photo.png", EXE),  # an executable disguised as a picture
        ("tool", ELF),
        ("notes.txt", ELF),
        ("page.html", HTML),
        ("page.txt", HTML),  # markup saved as text
        ("page.txt", b"  \n<html><body>hi</body></html>"),
        ("image.svg.txt", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("ceiling.pdf", png_bytes()),  # content does not match the name
        ("invoice.png", pdf_bytes()),
        ("ceiling.txt", png_bytes()),
        ("nul.txt", b"first line\x00second line\n"),
        ("gbk.txt", "漏水".encode("gbk") + b"\xff\xfe"),  # not UTF-8
        ("report.doc", b"plain words in a .doc file"),
    ],
)
def test_refused_types(name, content, db):
    with pytest.raises(ServiceError):
        attachments.validate_upload(upload(name, content))


def test_size_limit(settings, db):
    settings.REDRESS_ATTACHMENT_MAX_BYTES = 100
    ok = b"x" * 100
    assert attachments.validate_upload(upload("exact.txt", ok)) == ("text/plain", ".txt")
    with pytest.raises(ServiceError):
        attachments.validate_upload(upload("big.txt", ok + b"x"))


@pytest.fixture
def complaint(manager):
    return make_complaint(user=manager)


@pytest.mark.parametrize(
    ("original", "content", "mime", "ext"),
    [
        ("Ceiling photo 天花板.PNG", png_bytes(), "image/png", ".png"),
        ("invoice-2026.pdf", pdf_bytes(), "application/pdf", ".pdf"),
        ("call-notes.txt", TEXT, "text/plain", ".txt"),
    ],
)
def test_add_attachment_stores_evidence(
    original, content, mime, ext, complaint, handler, time_machine
):
    time_machine.move_to(T0, tick=False)
    version_before = Complaint.objects.get(pk=complaint.pk).version
    time_machine.move_to(T0 + timedelta(hours=1), tick=False)

    attachment = attachments.add_attachment(
        complaint.pk, user=handler, uploaded=upload(original, content)
    )

    stored = Attachment.objects.get(pk=attachment.pk)
    assert stored.complaint_id == complaint.pk
    assert stored.original_name == original
    assert stored.content_type == mime
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.uploaded_by == handler
    assert stored.uploaded_at == T0 + timedelta(hours=1)
    # The stored name is ours: dated folder, random id, extension of the detected type.
    assert re.fullmatch(rf"attachments/2026/03/[0-9a-f]{{32}}\{ext}", stored.file.name)
    assert original.rsplit(".", 1)[0].lower() not in stored.file.name.lower()
    with stored.file.open("rb") as fh:
        assert fh.read() == content

    [event] = complaint.events.filter(kind=ComplaintEvent.Kind.ATTACHMENT)
    assert event.actor == handler
    assert event.note == original
    assert event.created_at == T0 + timedelta(hours=1)
    assert event.data == {
        "attachment_id": stored.pk,
        "name": original,
        "size": len(content),
        "sha256": stored.sha256,
        "content_type": mime,
    }
    after = Complaint.objects.get(pk=complaint.pk)
    assert after.updated_at == T0 + timedelta(hours=1)
    assert after.version == version_before


def test_same_name_twice_gets_two_stored_files(complaint, handler):
    first = attachments.add_attachment(
        complaint.pk, user=handler, uploaded=upload("photo.png", png_bytes())
    )
    second = attachments.add_attachment(
        complaint.pk, user=handler, uploaded=upload("photo.png", png_bytes())
    )
    assert first.file.name != second.file.name
    assert first.sha256 == second.sha256
    assert complaint.attachments.count() == 2


def test_path_in_the_original_name_is_dropped(complaint, handler, settings):
    attachment = attachments.add_attachment(
        complaint.pk, user=handler, uploaded=upload("../../etc/evil.png", png_bytes())
    )
    assert attachment.original_name == "evil.png"
    [path] = stored_files(settings)
    assert path.resolve().is_relative_to(settings.MEDIA_ROOT.resolve())


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", b""),
        ("setup.exe", EXE),
        ("ceiling.pdf", png_bytes()),
        ("page.txt", HTML),
        ("nul.txt", b"a\x00b"),
    ],
)
def test_refused_upload_stores_nothing(name, content, complaint, handler, settings):
    with pytest.raises(ServiceError):
        attachments.add_attachment(complaint.pk, user=handler, uploaded=upload(name, content))
    assert not Attachment.objects.exists()
    assert not complaint.events.filter(kind=ComplaintEvent.Kind.ATTACHMENT).exists()
    assert stored_files(settings) == []


def test_oversized_upload_stores_nothing(complaint, handler, settings):
    settings.REDRESS_ATTACHMENT_MAX_BYTES = 64
    with pytest.raises(ServiceError):
        attachments.add_attachment(
            complaint.pk, user=handler, uploaded=upload("big.txt", b"y" * 65)
        )
    assert not Attachment.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_upload_needs_change_permission(who, complaint, settings):
    user = None if who == "anonymous" else UserFactory(perms=["complaints.view_complaint"])
    with pytest.raises(ServiceError):
        attachments.add_attachment(
            complaint.pk, user=user, uploaded=upload("photo.png", png_bytes())
        )
    assert not Attachment.objects.exists()
    assert stored_files(settings) == []
