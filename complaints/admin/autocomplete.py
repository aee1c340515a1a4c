"""The admin's autocomplete (select boxes that search as you type), with labels the target
admin decides per request: `autocomplete_label(request, obj)` (e.g. customers masked for
staff without the personal-data permission; str(obj) would show name and phone)."""

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView


class LabelledAutocompleteJsonView(AutocompleteJsonView):
    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        label = getattr(self.model_admin, "autocomplete_label", None)
        if label is not None:
            result["text"] = label(self.request, obj)
        return result


def autocomplete_view(request):
    return LabelledAutocompleteJsonView.as_view(admin_site=admin.site)(request)


# Bound before the admin's URLs are built (config/urls.py reads admin.site.urls later).
admin.site.autocomplete_view = autocomplete_view
