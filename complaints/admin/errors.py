"""Error pages (403, 404, 500) in the product's own look and language.

Logged-in staff see them inside the admin frame (header, the sidebar entries they may open,
a way back); everyone else, and any page whose frame cannot be drawn (a 500 may mean the
database is away), gets the same message on the plain sign-in layout. API paths answer in
JSON (complaints.api.errors)."""

import logging

from django.contrib import admin
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy

from ..api import errors as api_errors

logger = logging.getLogger(__name__)

PAGES = {
    403: (
        gettext_lazy("You may not open this page"),
        gettext_lazy(
            "Your role does not include this page. If you need it for your work, ask your "
            "system administrator."
        ),
    ),
    404: (
        gettext_lazy("Page not found"),
        gettext_lazy(
            "There is no such page, or the record belongs to another department. Check the "
            "address or search for the complaint."
        ),
    ),
    500: (
        gettext_lazy("Something went wrong"),
        gettext_lazy(
            "The page could not be shown because of an error on our side. Nothing you entered "
            "was saved twice; try again in a moment."
        ),
    ),
}


def _render(request, status: int) -> HttpResponse:
    heading, text = PAGES[status]
    context = {"title": heading, "heading": heading, "text": text, "status": status}
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        try:
            html = render_to_string(
                "complaints/admin/error.html",
                {**admin.site.each_context(request), **context},
                request=request,
            )
            return HttpResponse(html, status=status)
        except Exception:  # the frame needs the database; the message must still get out
            logger.exception("error page %s: the admin frame could not be drawn", status)
    try:
        html = render_to_string("complaints/error_plain.html", context, request=request)
    except Exception:
        logger.exception("error page %s could not be drawn", status)
        html = f"<h1>{status}</h1>"
    return HttpResponse(html, status=status)


def forbidden(request, exception=None):
    if request.path.startswith("/api/"):
        return api_errors.permission_denied(request, exception)
    return _render(request, 403)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_errors.not_found(request, exception)
    return _render(request, 404)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_errors.server_error(request)
    return _render(request, 500)
