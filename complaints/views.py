import filetype
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from .models import Attachment
from .selectors import can_see
from .services.attachments import INLINE_TYPES, SNIFF_BYTES

# The inline view is a document of its own: no scripts, no plugins, no forms, no framing by
# other sites; images additionally in a sandbox (a unique origin). Chromium refuses to start
# its PDF viewer in a sandboxed document, so a PDF gets the same policy without `sandbox`
# (its viewer runs isolated from the page; the bytes were verified to be a PDF).
IMAGE_CSP = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
PDF_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; object-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _visible_attachment(request, pk: int) -> Attachment:
    if not request.user.has_perm("complaints.view_complaint"):
        raise Http404
    attachment = get_object_or_404(Attachment.objects.select_related("complaint"), pk=pk)
    if not can_see(request.user, attachment.complaint):
        raise Http404  # another department's evidence
    return attachment


@staff_member_required
def download_attachment(request, pk: int):
    """Serve an attachment only to staff allowed to view complaints, always as a download."""
    attachment = _visible_attachment(request, pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def sniffed_inline_type(attachment: Attachment) -> str | None:
    """The type to show the file inline as, from its stored bytes (not the recorded type or
    the name), if it is one of INLINE_TYPES; else None."""
    with attachment.file.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kind = filetype.guess(head)
    return kind.mime if kind is not None and kind.mime in INLINE_TYPES else None


@staff_member_required
def view_attachment(request, pk: int):
    """Show an image or PDF in the browser (preview, thumbnail) to those who may see the
    complaint; any other file, or one whose content is not what it claims, is downloaded."""
    attachment = _visible_attachment(request, pk)
    mime = sniffed_inline_type(attachment)
    if mime is None:
        return download_attachment(request, pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=False,
        filename=attachment.original_name,
        content_type=mime,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PDF_CSP if mime == "application/pdf" else IMAGE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
