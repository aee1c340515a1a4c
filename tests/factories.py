import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from complaints.models import (
    Category,
    Channel,
    Complaint,
    Customer,
    Department,
    DepartmentMembership,
)
from complaints.services import lifecycle


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"User{n}")
    is_staff = True
    password = factory.django.Password("pw-123456!")

    @factory.post_generation
    def perms(self, create, extracted, **kwargs):
        """perms=["complaints.change_complaint", ...]"""
        if not create or not extracted:
            return
        for perm in extracted:
            app_label, codename = perm.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        self.save()


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"Department {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepartmentMembership

    department = factory.SubFactory(DepartmentFactory)
    user = factory.SubFactory(UserFactory)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    code = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    default_department = factory.SubFactory(DepartmentFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户 {n}")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")


def make_complaint(*, user=None, **fields) -> Complaint:
    """Record a complaint through the intake service, as the product does."""
    fields.setdefault("channel", Channel.HOTLINE)
    fields.setdefault("subject", "Water leaking from the ceiling")
    fields.setdefault("description", "Since Monday water drips in the bathroom.")
    fields.setdefault("received_at", timezone.now())
    if "customer" not in fields:
        fields["customer"] = CustomerFactory()
    return lifecycle.register_complaint(Complaint(**fields), user=user)


def png_bytes() -> bytes:
    """A valid 1x1 PNG image (for attachment uploads)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# -- service-level test helpers (appended for the workflow / lifecycle tests) --------------

# How a complaint is walked from "new" to each status through the workflow's own edges.
STATUS_PATHS: dict[str, tuple[str, ...]] = {
    "new": (),
    "acknowledged": ("acknowledged",),
    "investigating": ("acknowledged", "investigating"),
    "awaiting_customer": ("acknowledged", "investigating", "awaiting_customer"),
    "solution_proposed": ("acknowledged", "investigating", "solution_proposed"),
    "resolved": ("acknowledged", "investigating", "solution_proposed", "resolved"),
    "closed": ("acknowledged", "investigating", "solution_proposed", "resolved", "closed"),
    "reopened": ("acknowledged", "investigating", "solution_proposed", "resolved", "reopened"),
    "invalid": ("invalid",),
    "merged": ("merged",),
}


def walk_to(complaint: Complaint, status: str, *, user, merge_into=None, now=None) -> Complaint:
    """Take `complaint` (fresh from intake) to `status` through lifecycle.transition.

    The complaint needs a department, a solution and a resolution for the longer paths
    (make_complaint(department=..., solution=..., resolution=...)); `user` needs the
    permissions of every edge on the way.
    """
    for target in STATUS_PATHS[status]:
        if target == "closed":
            # Closing needs the follow-up policy satisfied or waived (followups app).
            from followups.services.visits import waive

            waive(complaint.pk, user=user, reason="setup: closed without return visit", now=now)
        complaint = lifecycle.transition(
            complaint.pk,
            target,
            user=user,
            note=f"setup: to {target}",
            merge_into=merge_into,
            now=now,
        )
    complaint.refresh_from_db()
    return complaint


def pdf_bytes() -> bytes:
    """A minimal PDF document (for attachment uploads)."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def form_fields(html: str, form_id: str | None = None, *, action: str | None = None):
    """What a browser would submit from the form with this id (or, without an id, the first
    POST form with this action; "" for a form without one), unchanged: buttons and file inputs
    left out. Returns {name: [values]}; the test client posts lists as repeated fields."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.depth = 0  # > 0 while inside the wanted form
            self.data: dict[str, list[str]] = {}
            self.select = None
            self.textarea = None
            self.done = False

        def add(self, name, value):
            self.data.setdefault(name, []).append(value)

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form":
                if form_id is not None:
                    wanted = attrs.get("id") == form_id
                else:
                    wanted = (attrs.get("method") or "").lower() == "post" and (
                        attrs.get("action") or ""
                    ) == action
                if self.depth or (wanted and not self.done):
                    self.depth += 1
                return
            if not self.depth:
                return
            name = attrs.get("name")
            if tag == "input" and name and "disabled" not in attrs:
                kind = attrs.get("type", "text").lower()
                if kind in ("submit", "button", "image", "reset", "file"):
                    return
                if kind in ("checkbox", "radio") and "checked" not in attrs:
                    return
                self.add(name, attrs.get("value", "on" if kind == "checkbox" else ""))
            elif tag == "select" and name and "disabled" not in attrs:
                self.select = {
                    "name": name,
                    "chosen": [],
                    "first": None,
                    "multiple": "multiple" in attrs,
                }
            elif tag == "option" and self.select is not None:
                value = attrs.get("value", "")
                if self.select["first"] is None:
                    self.select["first"] = value
                if "selected" in attrs:
                    self.select["chosen"].append(value)
            elif tag == "textarea" and name and "disabled" not in attrs:
                self.textarea = {"name": name, "text": ""}

        def handle_data(self, data):
            if self.textarea is not None:
                self.textarea["text"] += data

        def handle_endtag(self, tag):
            if not self.depth:
                return
            if tag == "form":
                self.depth -= 1
                self.done = self.done or self.depth == 0
            elif tag == "select" and self.select is not None:
                select, self.select = self.select, None
                chosen = select["chosen"]
                if not chosen and not select["multiple"] and select["first"] is not None:
                    chosen = [select["first"]]  # a browser submits the first option
                self.data.setdefault(select["name"], []).extend(chosen)
            elif tag == "textarea" and self.textarea is not None:
                text = self.textarea["text"]
                self.add(self.textarea["name"], text[1:] if text.startswith("\n") else text)
                self.textarea = None

    parser = Parser()
    parser.feed(html)
    assert parser.data, f"no form {form_id or action!r} (or it is empty)"
    return parser.data
