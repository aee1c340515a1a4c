"""OpenAPI descriptions of the API's own authentication (imported by the app's ready())."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "complaints.api.auth.TokenAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; keys come from `manage.py create_api_client`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "complaints.api.auth.SessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# 400: {"field": ["message", ...], "customer": {"phone": [...]}, "non_field_errors": [...]}
FIELD_ERRORS = {"type": "object", "additionalProperties": True}


def document_errors(result, generator, request, public):
    """Every API operation can answer 401 (no or bad key), 403 (scope or department),
    404 (unknown object or cursor) and 429 (throttled); those with input also 400."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["FieldErrors"] = FIELD_ERRORS

    def response(name, description):
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }

    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", response("FieldErrors", "Invalid input, by field."))
            responses.setdefault("401", response("Error", "No, unknown or inactive key."))
            responses.setdefault("403", response("Error", "Scope missing or another department."))
            responses.setdefault("404", response("Error", "Not found."))
            responses.setdefault("429", response("Error", "Too many requests; see Retry-After."))
    return result
