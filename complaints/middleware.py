"""Cache-Control for responses that carry personal data outside the admin (which Django
already marks never_cache): the API and attachment downloads are never stored by browsers
or proxies."""

NO_STORE_PREFIXES = ("/api/v1/", "/attachments/")


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(NO_STORE_PREFIXES):
            response["Cache-Control"] = "no-store, private"
        return response
