from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from .models import Attachment
from .selectors import can_see


@staff_member_required
def download_attachment(request, pk: int):
    """Serve an attachment only to staff allowed to view complaints, always as a download."""
    if not request.user.has_perm("complaints.view_complaint"):
        raise Http404
    attachment = get_object_or_404(Attachment.objects.select_related("complaint"), pk=pk)
    if not can_see(request.user, attachment.complaint):
        raise Http404  # another department's evidence
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
