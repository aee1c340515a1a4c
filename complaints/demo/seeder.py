"""The demo's generator: departments, categories, staff, customers and complaints whose clocks
and timelines follow the workflow, as a real, well-run complaints desk would have them after
18 months (`manage.py seed_demo`).

Staff act in working hours (09:00-18:00 Asia/Shanghai on the working days of the default
business calendar, holidays and moved working days included). Older complaints are finished,
mostly within their deadlines; the last weeks hold the open backlog.
"""

import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from itertools import accumulate
from random import Random
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import F, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..messages import names as bilingual
from ..messages import stored
from ..models import (
    BusinessCalendar,
    CalendarException,
    Category,
    Channel,
    Complaint,
    ComplaintEvent,
    Customer,
    Department,
    DepartmentMembership,
    Fault,
    NotificationList,
    ReplyTemplate,
    Status,
)
from ..services import sla
from ..services.categories import rebuild_paths
from ..services.customers import normalize_phone
from ..services.references import format_reference, reserve_numbers
from ..services.severity import RECORDED, reason_value
from . import accounts as A
from . import corpus as D
from . import replies as R

PASSWORD = A.PASSWORD
HISTORY_DAYS = 548  # 18 months
PACE = {1: 0.1, 2: 0.4, 3: 0.8, 4: 1.0}  # how much faster than usual each severity is handled
OPEN_DAY, CLOSE_DAY = clock_time(9, 0), clock_time(18, 0)  # the department's working hours
CRISIS_HOURS = (clock_time(8, 0), clock_time(21, 0))  # a crisis team's day, weekends too
BACKLOG_DAYS = 60  # complaints left open or forgotten come from the last weeks only
STAFFED = (Channel.HOTLINE, Channel.CHAT, Channel.WALK_IN)  # answered while the desk is open
SELF_SERVICE = (Channel.WEB, Channel.API)  # recorded without staff
EVENT_COLUMNS = ("complaint_id", "kind", "actor_id", "created_at", "from_status", "to_status",
                 "note", "contact_channel", "contact_direction", "data")  # fmt: skip
S, K = Status, ComplaintEvent.Kind


def weighted(weights: dict) -> tuple[list, list]:
    """Population and cumulative weights for random.choices."""
    return list(weights), list(accumulate(weights.values()))


def draw(rnd, table):
    return rnd.choices(table[0], cum_weights=table[1])[0]


CHANNELS, SEVERITIES = weighted(D.CHANNEL_WEIGHTS), weighted(D.SEVERITY_WEIGHTS)
FAULTS, TIERS, HOURS = map(weighted, (D.FAULT_WEIGHTS, D.TIER_WEIGHTS, D.HOUR_WEIGHTS))


class Seeder:
    def __init__(self, say, rnd, seed, started):
        self.say, self.rnd, self.seed, self.started = say, rnd, seed, started
        self.now = timezone.now().replace(microsecond=0)
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.event_count = 0
        self.homes, self.orders = {}, {}  # customer -> last unit / order complained about
        self.exceptions = {}  # date -> holiday / moved working day (the default calendar)

    # -- working time ---------------------------------------------------------------------

    def load_calendar(self):
        calendar = BusinessCalendar.objects.filter(is_default=True).first()
        if calendar is not None:
            rows = CalendarException.objects.filter(calendar=calendar)
            self.exceptions = dict(rows.values_list("date", "kind"))

    def is_working_day(self, day) -> bool:
        kind = self.exceptions.get(day)
        if kind is not None:
            return kind == CalendarException.Kind.WORKDAY
        return day.weekday() < 5

    def on_duty(self, when, rnd, *, crisis=False):
        """`when` if the department works then, else a few minutes after it next opens.

        The department works 09:00-18:00 on the working days of its calendar; a crisis team
        08:00-21:00 on any day."""
        opens, closes = CRISIS_HOURS if crisis else (OPEN_DAY, CLOSE_DAY)
        local = when.astimezone(self.tz)

        def works(day):
            return crisis or self.is_working_day(day)

        if works(local.date()) and opens <= local.time() < closes:
            return when
        day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
        while not works(day):
            day += timedelta(days=1)
        start = datetime.combine(day, opens, tzinfo=self.tz)
        return start + timedelta(minutes=rnd.randint(2, 55), seconds=rnd.randint(0, 59))

    def at_work_before(self, when, rnd):
        """`when` if the department works then, else a few minutes before it last closed."""
        local = when.astimezone(self.tz)
        if self.is_working_day(local.date()) and OPEN_DAY <= local.time() < CLOSE_DAY:
            return when
        day = local.date() if local.time() >= CLOSE_DAY else local.date() - timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        closes = datetime.combine(day, CLOSE_DAY, tzinfo=self.tz)
        return closes - timedelta(minutes=rnd.randint(5, 90), seconds=rnd.randint(0, 59))

    def after_work(self, start, hours, rnd, *, crisis=False):
        """The moment after `hours` of effort from `start`, counted in working time: a day of
        24 hours is one working day (long steps span nights, weekends and holidays)."""
        opens, closes = CRISIS_HOURS if crisis else (OPEN_DAY, CLOSE_DAY)
        day_length = datetime.combine(start.date(), closes) - datetime.combine(start.date(), opens)
        left = day_length * (hours / 24)
        t = self.on_duty(start, rnd, crisis=crisis)
        while True:
            local = t.astimezone(self.tz)
            closing = datetime.combine(local.date(), closes, tzinfo=self.tz)
            if t + left < closing:
                return t + left
            left -= closing - t
            t = self.on_duty(closing, rnd, crisis=crisis)

    @transaction.atomic
    def reference_data(self):
        # Demo staff are in the real role groups (created by migration), as staff would be.
        groups = {g.name: g for g in Group.objects.filter(name__in={r[1] for r in A.TRY})}
        if len(groups) < len({r[1] for r in A.TRY}):
            raise CommandError(_("Role groups are missing; run migrate first."))
        depts, password = {}, None
        for code, name, name_en, parent, count in D.DEPARTMENTS:
            defaults = {"name": name, "name_en": name_en, "parent": depts.get(parent),
                        "email": f"{code}@example.com"}  # fmt: skip
            depts[code] = dept = Department.objects.get_or_create(code=code, defaults=defaults)[0]
            if not dept.name_en and dept.name in (name, name_en):  # an older demo's row
                dept.name, dept.name_en = name, name_en
                dept.save(update_fields=["name", "name_en"])
            people = [(f"head.{code}", "head")]
            people += [(f"handler.{code}{i}", "member") for i in range(1, count + 1)]
            for username, role in people:
                user = get_user_model().objects.filter(username=username).first()
                if user is None:
                    password = password or make_password(PASSWORD)  # slow: hash only once
                    names = Random(f"{self.seed}-{username}")
                    name = names.choice(D.ZH_SURNAMES)[0] + names.choice(D.ZH_GIVEN)[0]
                    user = get_user_model().objects.create(
                        username=username, password=password, is_staff=True, first_name=name,
                        email=f"{username}@example.com",
                    )  # fmt: skip
                user.groups.add(groups[A.HEAD_ROLE if role == "head" else A.HANDLER_ROLE])
                DepartmentMembership.objects.get_or_create(
                    department=dept, user=user, defaults={"role": role}
                )
        for username, role_group, dept_code, _what in A.TRY:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                password = password or make_password(PASSWORD)
                names = Random(f"{self.seed}-{username}")
                name = names.choice(D.ZH_SURNAMES)[0] + names.choice(D.ZH_GIVEN)[0]
                user = get_user_model().objects.create(
                    username=username, password=password, is_staff=True, first_name=name,
                    email=f"{username}@example.com",
                )  # fmt: skip
            user.groups.add(groups[role_group])
            if dept_code:
                DepartmentMembership.objects.get_or_create(department=depts[dept_code], user=user)
        for order, (name, name_en, kind, dept, body, body_en) in enumerate(R.TEMPLATES, start=1):
            ReplyTemplate.objects.get_or_create(
                name=name,
                department=depts.get(dept) if dept else None,
                defaults={"name_en": name_en, "kind": kind, "body": body, "body_en": body_en,
                          "sort_order": order},
            )  # fmt: skip
        # Level-2 escalations and crisis notices reach real people (empty lists: W003).
        User = get_user_model()
        for code, usernames in A.NOTIFICATION_LISTS.items():
            nl = NotificationList.objects.filter(code=code).first()
            if nl is not None:
                nl.users.add(*User.objects.filter(username__in=usernames))
        leaves = []  # (weight, category, top-level code, topic code, item kind)
        for order, (code, name, dept, *rest) in enumerate(D.CATEGORIES, start=1):
            top = self.category(code, name, depts[dept], None, order)
            if isinstance(rest[0], list):
                for sub, (c_code, c_name, c_dept, weight, kind) in enumerate(rest[0], start=1):
                    child = self.category(c_code, c_name, depts[c_dept], top, sub)
                    leaves.append((weight, child, code, c_code, kind))
            else:
                leaves.append((rest[0], top, code, code, rest[1]))
        rebuild_paths()
        self.leaves = [leaf[1:] for leaf in leaves]
        self.leaf_cum = list(accumulate(leaf[0] for leaf in leaves))
        # Who works where, as actually stored (the reference data may have been edited).
        self.members, self.heads = {}, {}
        for m in DepartmentMembership.objects.select_related("user").filter(user__is_active=True):
            self.members.setdefault(m.department_id, []).append(m.user)
            if m.role == DepartmentMembership.Role.HEAD:
                self.heads.setdefault(m.department_id, []).append(m.user)
        self.lead, self.legal = depts[D.LEAD_DEPARTMENT].pk, depts[D.LEGAL_DEPARTMENT].pk
        self.dept_names = {d.pk: bilingual(d) for d in Department.objects.all()}
        self.load_calendar()
        self.say(
            _("Reference data: %(d)s departments, %(c)s categories, %(u)s staff memberships.")
            % {"d": len(depts), "c": Category.objects.count(),
               "u": sum(map(len, self.members.values()))}
        )  # fmt: skip

    def category(self, code, name, dept, parent, order):
        zh, en = name
        defaults = {"name": zh, "name_en": en, "default_department": dept, "parent": parent,
                    "sort_order": order}  # fmt: skip
        category = Category.objects.get_or_create(code=code, defaults=defaults)[0]
        if not category.name_en and category.name in (zh, en):  # an older demo's row
            category.name, category.name_en = zh, en
            category.save(update_fields=["name", "name_en"])
        return category

    def customers(self, count):
        r, rows = self.rnd, []
        # Phone, email and external id identify one customer (unique in the database), also
        # against customers of an earlier run.
        canonical = Customer.objects.filter(duplicate_of__isnull=True)
        phones = set(canonical.exclude(phone="").values_list("phone", flat=True))
        emails = set(canonical.exclude(email="").values_list("email", flat=True))
        taken = set(canonical.exclude(external_id="").values_list("external_id", flat=True))
        for _i in range(count):
            zh, tier = r.random() < 0.75, draw(r, TIERS)
            if zh:
                (surname, s_py), (given, g_py) = r.choice(D.ZH_SURNAMES), r.choice(D.ZH_GIVEN)
                if r.random() < 0.7:
                    extra, e_py = r.choice(D.ZH_GIVEN)
                    given, g_py = given + extra, g_py + e_py
                name, local = surname + given, r.choice((f"{g_py}.{s_py}", s_py + g_py))
            else:
                first, last = r.choice(D.EN_FIRST), r.choice(D.EN_LAST)
                name, local = f"{first} {last}", f"{first}.{last}".lower()
            if tier == Customer.Tier.CORPORATE:
                local = r.choice(("service", "admin", "office", "info"))
                name = "".join(map(r.choice, D.ZH_COMPANY if zh else D.EN_COMPANY))
            phone = email = external_id = notes = ""
            if zh or r.random() < 0.85:
                while not phone or phone in phones:
                    phone = f"+86{r.choice(D.MOBILE_PREFIXES)}{r.randrange(10**8):08d}"
                phones.add(phone)
            if not phone or r.random() < (0.55 if zh else 0.95):
                local = local.replace("'", "").replace("ü", "ue")
                while not email or email in emails:  # unique, as phones (same draws)
                    email = f"{local}{r.randrange(1, 1000)}@{r.choice(D.EMAIL_DOMAINS)}"
                emails.add(email)
            if tier != Customer.Tier.STANDARD:
                while not external_id or external_id in taken:
                    external_id = f"CRM-{r.randrange(10**7):07d}"
                taken.add(external_id)
            abusive, difficult = r.random() < 0.01, r.random() < 0.03
            if abusive or difficult:
                notes = r.choice(D.CUSTOMER_NOTES["abusive" if abusive else "difficult"])
            customer = Customer(
                name=name, phone=phone, email=email, external_id=external_id, tier=tier,
                is_abusive=abusive, is_difficult=difficult, notes=notes,
            )  # fmt: skip
            rows.append((not (abusive or difficult), customer, "zh" if zh else "en"))
        sample = next((c.phone for _f, c, _l in rows if c.phone), "")
        if sample and normalize_phone(sample.removeprefix("+86")) != sample:
            raise CommandError(_("Generated phone %(phone)s is not E.164.") % {"phone": sample})
        for start in range(0, len(rows), 5000):
            with transaction.atomic():
                Customer.objects.bulk_create([row[1] for row in rows[start : start + 5000]])
        self.first_customer = min(row[1].pk for row in rows)
        # Flagged customers come first; picks favour the front, so they complain most.
        rows.sort(key=lambda row: row[0])
        self.pool = [(c.pk, lang) for _f, c, lang in rows]
        self.tiers = {c.pk: c.tier for _f, c, _l in rows}
        self.say(_("Created %(n)s customers.") % {"n": len(rows)})

    def schedule(self, count):
        """(created_at, received_at, channel) of every complaint, in the order recorded."""
        r, now, tz, out = self.rnd, self.now, self.tz, []
        local_now = now.astimezone(tz)
        for _i in range(count):
            day = (local_now - timedelta(days=HISTORY_DAYS * r.random() ** 1.25)).date()
            received = datetime(day.year, day.month, day.day, draw(r, HOURS), r.randrange(60),
                                r.randrange(60), tzinfo=tz).astimezone(UTC)  # fmt: skip
            earlier_today = now - timedelta(minutes=r.uniform(1, 600))  # always drawn
            if received > now:
                received = earlier_today
            channel = draw(r, CHANNELS)
            if channel in STAFFED:  # calls, chats and visits reach the desk while it is open
                received = self.on_duty(received, r)
            if channel == Channel.LETTER:
                delay = r.uniform(24, 96)
            elif channel in (Channel.EMAIL, Channel.SOCIAL):
                delay = r.uniform(0.2, 4) if r.random() < 0.7 else r.uniform(4, 20)
            else:
                delay = r.uniform(0, 0.3)
            created = received + timedelta(hours=delay)
            if channel not in SELF_SERVICE:  # staff record it in working hours
                created = self.on_duty(created, r)
            if created > now:  # recorded tomorrow: the demo shows a complaint of this morning
                received = created = self.on_duty(now - timedelta(days=1), r)
                received = min(received, now - timedelta(minutes=5))
                created = max(received, min(created, now - timedelta(minutes=1)))
            out.append((created, received, channel))
        return sorted(out)

    def complaints(self, count, batch_size):
        self.sla = sla.Context.load()  # policies and calendars, as intake uses them
        schedule = self.schedule(count)
        years = Counter(created.astimezone(self.tz).year for created, _r, _c in schedule)
        numbers = {year: iter(reserve_numbers(year, n)) for year, n in sorted(years.items())}
        self.blocks, self.recent = max(8, count // 1500), deque(maxlen=400)
        through = Complaint.assisting_departments.through
        for start in range(0, count, batch_size):
            batch, events, assists, touches = [], [], [], []
            for created, received, channel in schedule[start : start + batch_size]:
                year = created.astimezone(self.tz).year
                reference = format_reference(year, next(numbers[year]))
                c = self.complaint(reference, created, received, channel, events, assists)
                batch.append(c)
                target = c.merged_into if c.status == S.MERGED else None
                if target is not None and target.updated_at < c.updated_at:
                    if target.pk is None:
                        target.updated_at = c.updated_at
                    else:
                        touches.append((target.pk, c.updated_at))
            with transaction.atomic():
                # Merged complaints after the others: their targets need a primary key first.
                # Modest INSERTs: SQLite caches every statement shape, megabytes each at its
                # default maximum of 32,766 parameters.
                for merged in (False, True):
                    rows = [c for c in batch if (c.status == S.MERGED) == merged]
                    Complaint.objects.bulk_create(rows, batch_size=250)
                insert_events(events)
                through.objects.bulk_create(
                    through(complaint_id=c.pk, department_id=dept) for c, dept in assists
                )
                for pk, when in touches:
                    Complaint.objects.filter(pk=pk, updated_at__lt=when).update(updated_at=when)
            self.event_count += len(events)
            if count > batch_size:  # progress only where there is more than one step
                self.say(
                    _("  %(done)s / %(total)s complaints, %(events)s events (%(s).1f s)")
                    % {"done": start + len(batch), "total": count, "events": self.event_count,
                       "s": time.monotonic() - self.started}
                )  # fmt: skip
        # A customer is on record from their first complaint (auto_now_add said "now").
        first = Complaint.objects.filter(customer=OuterRef("pk")).values("customer")
        first = first.annotate(first=Min("received_at")).values("first")
        Customer.objects.filter(pk__gte=self.first_customer).update(
            created_at=Coalesce(Subquery(first), F("created_at"))
        )

    def item(self, kind, customer, received):
        """An item reference. Customers keep their home unit; units and SKUs repeat."""
        r = self.rnd
        if kind == "mixed":
            kind = r.choices(("unit", "order", ""), (40, 35, 25))[0]
        elif kind == "none":
            kind = "order" if r.random() < 0.2 else ""
        if kind == "unit":
            if customer not in self.homes or r.random() < 0.05:
                block = int(self.blocks * r.random() ** 1.5) + 1
                self.homes[customer] = f"Block {block}-{r.randrange(2, 34)}{r.randrange(1, 5):02d}"
            return self.homes[customer]
        if kind == "order":
            last, ordered = self.orders.get(customer, ("", received - timedelta(days=99)))
            if r.random() < 0.7 or received - ordered > timedelta(days=45):
                ordered = received - timedelta(days=r.randint(2, 40))
                last = f"SO{ordered:%Y%m%d}{r.randrange(10**5):05d}"
                self.orders[customer] = last, ordered
            return last
        return f"SKU-{r.choice(D.PRODUCTS)[0]}-{r.choice('AABBC')}" if kind == "sku" else ""

    def texts(self, topic, lang, item_ref, received):
        """Subject, description and the values filled into them (staff texts reuse them)."""
        r, text = self.rnd, D.TEXT[lang]
        product = next((p for p in D.PRODUCTS if item_ref.startswith(f"SKU-{p[0]}-")), None)
        product = product or r.choice(D.PRODUCTS)
        item = item_ref or text["no_item"]
        if lang == "zh" and item.startswith("Block "):
            item = "{}栋{}室".format(*item[6:].split("-"))
        days, today = r.randint(3, 40), received.astimezone(self.tz).date()
        if item_ref.startswith("SO"):  # the order's date
            days = max(1, (today - datetime.strptime(item_ref[2:10], "%Y%m%d").date()).days)
        date = today - timedelta(days=days)
        values = {
            "item": item, "product": product[1 if lang == "zh" else 2], "n": r.randint(2, 6),
            "days": days, "hours": r.randint(2, 6), "minutes": r.randint(15, 60),
            "cm": r.randint(5, 60), "amount": f"{r.randint(30, 9000)}.{r.choice(('00', '50'))}",
            "date": f"{date.month}月{date.day}日" if lang == "zh" else f"{date.day} {date:%B}",
            "voucher": r.choice((50, 100, 200)),
        }  # fmt: skip
        i = r.randrange(len(topic[f"{lang}_subjects"]))
        subject = topic[f"{lang}_subjects"][i].format_map(values)
        details = topic[f"{lang}_details"][i].format_map(values)
        follow = r.choice(text["followups"]).format_map(values)
        return subject, (details + ("" if lang == "zh" else " ") + follow).strip(), values

    def complaint(self, reference, created, received, channel, events, assists):
        r = self.rnd
        dup = None
        if self.recent and r.random() < 0.025:
            dup = self.recent[r.randrange(len(self.recent))]
        if dup and not timedelta(0) < received - dup.received_at < timedelta(days=30):
            dup = None
        if dup:  # the same customer again about the same thing, through another channel
            (category, domain, topic, _kind), customer, lang = dup.leaf, dup.customer_id, dup.lang
            item_ref, description, values = dup.item_ref, dup.description, dup.values
            subject = (D.TEXT[lang]["repeat"] + dup.subject)[:300]
        else:
            leaf = r.choices(self.leaves, cum_weights=self.leaf_cum)[0]
            category, domain, topic, kind = leaf
            customer, lang = self.pool[int(len(self.pool) * r.random() ** 1.6)]
            lang = lang if r.random() < 0.92 else ("en" if lang == "zh" else "zh")
            item_ref = self.item(kind, customer, received)
            subject, description, values = self.texts(D.TOPICS[topic], lang, item_ref, received)
        severity = draw(r, SEVERITIES)
        if topic == "product-safety":
            severity = min(severity, r.choice((1, 2, 2, 3)))
        risky = topic in ("sales-contract", "delivery-handover", "product-safety")
        media = r.random() < (0.15 if severity <= 2 else 0.05 if channel == "social" else 0.008)
        litigation = r.random() < (0.2 if severity == 1 else 0.06 if risky else 0.004)
        households = 1
        if item_ref.startswith("Block") and r.random() < (0.6 if severity == 1 else 0.04):
            households = r.randint(10, 300) if severity == 1 else r.randint(2, 12)
        # Facts that agree with the severity rules (a lower level would contradict them).
        if severity > 1:
            media, households = False, min(households, 9)
        if severity > 2:
            litigation, households = False, min(households, 2)
        dept = category.default_department_id
        dept = dept if dept in self.members else self.lead
        members, cs = self.members[dept], self.members[self.lead]
        heads = self.heads.get(dept) or self.heads.get(self.lead) or members
        assignee, head = r.choice(heads if severity == 1 else members), r.choice(heads)
        creator = r.choice(cs)
        if channel in SELF_SERVICE:
            creator = None  # submitted by the customer or by another system
        preassigned, fate = severity <= 2 or r.random() < 0.25, r.random()
        outcomes = D.OUTCOMES[domain][lang]
        c = Complaint(
            reference=reference, channel=channel, received_at=received, customer_id=customer,
            subject=subject, description=description, item_ref=item_ref,
            desired_outcome=r.choice(outcomes) if r.random() < 0.85 else "",
            households_affected=households, media_risk=media, litigation_risk=litigation,
            category=category, severity=severity, status=S.NEW, department_id=dept,
            assignee_id=assignee.pk if preassigned else None, created_by=creator,
            created_at=created, updated_at=created, version=1,
        )  # fmt: skip
        c.tier = self.tiers[customer]
        self.set_deadlines(c)
        c.leaf, c.lang, c.values = (category, domain, topic, None), lang, values
        # The timeline draws from its own generator: where `now` cuts it off must not change
        # what the following complaints look like.
        tl = Timeline(Random(r.getrandbits(64)), self.now, c, events, assignee, head, cs, self)
        tl.add(created, K.CREATED, creator and creator.pk, to_status=S.NEW, data={
            "channel": channel, "severity": severity, "department": self.dept_names[dept],
            "assignee": assignee.username if preassigned else None,
        })  # fmt: skip
        if litigation:
            assists.append((c, self.legal))
        elif r.random() < 0.03:
            others = [d for d in self.members if d not in (dept, self.legal)]
            if others:
                assists.append((c, r.choice(others)))
                c.severity = min(c.severity, 3)  # needs other departments
        try:
            if dup:
                tl.merge(dup)
            elif fate < 0.03:
                tl.invalidate()
            else:
                self.recent.append(c)
                tl.handle(preassigned)
        except _Later:
            pass
        tl.extras()
        c.severity_reason = self.severity_reason(c, assisted=bool(assists and assists[-1][0] is c))
        self.set_deadlines(c)
        return c

    def severity_reason(self, c, *, assisted):
        """The reason the severity rules give for the facts (as intake records it)."""
        found = []
        if c.media_risk:
            found.append((1, stored(gettext_noop("Risk of negative media exposure."))))
        if c.households_affected >= 10:
            msgid = gettext_noop("%(n)s households/customers affected (10 or more).")
            found.append((1, stored(msgid, n=c.households_affected)))
        if c.litigation_risk:
            found.append((2, stored(gettext_noop("May lead to litigation."))))
        if 3 <= c.households_affected <= 9:
            msgid = gettext_noop("%(n)s households/customers affected (3 to 9).")
            found.append((2, stored(msgid, n=c.households_affected)))
        if assisted:
            found.append((3, stored(gettext_noop("Needs help from other departments."))))
        reasons = [message for level, message in found if level == c.severity]
        if reasons:
            return reason_value(reasons[0] if len(reasons) == 1 else reasons)
        if c.severity == 4:
            return reason_value(stored(gettext_noop("No rule for a higher level applies.")))
        return reason_value(stored(RECORDED))  # intake staff judged it more severe

    def set_deadlines(self, c):
        for field, value in sla.compute(c, self.sla, tier=c.tier).items():
            setattr(c, field, value)


class _Later(Exception):
    """The next step of a timeline would happen after now."""


class Timeline:
    """Walks one complaint along the workflow, appending its events, until `now`."""

    def __init__(self, rnd, now, complaint, events, assignee, head, cs, seeder):
        self.r, self.now, self.c, self.events = rnd, now, complaint, events
        self.seeder = seeder
        self.t, self.assignee, self.head, self.cs = complaint.created_at, assignee, head, cs
        self.text, self.pace = D.TEXT[complaint.lang], PACE[complaint.severity]
        self.reply = Channel.HOTLINE
        if complaint.channel in (Channel.EMAIL, Channel.CHAT) and self.r.random() < 0.5:
            self.reply = complaint.channel

    def pick(self, key):
        return self.r.choice(self.text[key])

    def advance(self, hours):
        """The next step, `hours` later: 24 hours are one working day of the department."""
        when = self.seeder.after_work(self.t, hours, self.r, crisis=self.c.severity == 1)
        if when > self.now:
            raise _Later
        self.t = when
        return when

    def on_duty(self, when):
        """Staff act in the department's working hours (a crisis team's for a crisis)."""
        return self.seeder.on_duty(when, self.r, crisis=self.c.severity == 1)

    def add(self, when, kind, actor, note="", channel="", direction="", data=None, **extra):
        c = extra.get("owner", self.c)
        to_status = extra.get("to_status", "")
        self.events.append((c, kind, actor, when, "", to_status, note, channel, direction, data))
        self.c.updated_at = max(self.c.updated_at, when)

    def status(self, hours, target, actor, note="", data=None):
        c, t = self.c, self.advance(hours)
        self.events.append((c, K.STATUS, actor, t, c.status, target, note, "", "", data))
        source, c.status, c.updated_at = c.status, target, t
        # The SLA clock as lifecycle.transition moves it.
        if target == S.AWAITING_CUSTOMER:
            sla.pause(c, now=t)
        elif source == S.AWAITING_CUSTOMER:
            sla.resume(c, now=t)
            self.seeder.set_deadlines(c)
        if target == S.ACKNOWLEDGED and c.acknowledged_at is None:
            c.acknowledged_at = t
        elif target == S.RESOLVED:
            c.resolved_at = t
        elif target == S.CLOSED:
            c.closed_at = t
        elif target == S.REOPENED:
            c.reopened_count += 1
            c.resolved_at = c.closed_at = None
            sla.restart_resolution_clock(c, now=t)
            self.seeder.set_deadlines(c)
        elif target == S.INVALID:
            c.invalid_reason = note

    def contact(self, hours, actor, direction, note, channel=None):
        t = self.advance(hours)
        data = {"contacted_at": t.isoformat()}
        self.add(t, K.CONTACT, actor, note, channel or self.reply, direction, data)
        if direction == "out" and self.c.first_response_at is None:
            self.c.first_response_at = t

    def acknowledge(self, probability=1.0):
        r = self.r
        if r.random() < probability:
            hours = r.uniform(24, 72) if r.random() < 0.07 else r.lognormvariate(0.4, 1.0)
            actor = r.choice(self.cs) if r.random() < 0.6 else self.assignee
            self.status(self.pace * hours, S.ACKNOWLEDGED, actor.pk)

    def merge(self, target):
        self.acknowledge(0.3)
        note, head = self.pick("merge"), self.head.pk
        self.status(
            self.r.uniform(0.2, 48), S.MERGED, head, note, {"merged_into": target.reference}
        )
        self.c.merged_into = target
        self.add(self.t, K.MERGE, head, note, data={"merged_from": self.c.reference}, owner=target)

    def invalidate(self):
        self.acknowledge(0.5)
        self.status(self.r.uniform(0.5, 72), S.INVALID, self.head.pk, self.pick("invalid"))

    def handle(self, preassigned):
        """The usual path, with detours: waiting, rejected solutions, forgotten, reopened."""
        r, c, pace, me, head = self.r, self.c, self.pace, self.assignee.pk, self.head.pk
        self.acknowledge()
        if not preassigned:
            when = self.advance(pace * r.uniform(0.05, 2))
            c.assignee_id = me
            self.add(when, K.ASSIGNMENT, head, data={"assignee": [None, self.assignee.username]})
        first = r.uniform(30, 80) if r.random() < 0.08 else r.lognormvariate(1.1, 1.0)
        self.contact(pace * first, me, "out", self.pick("first_contacts"))
        self.status(pace * r.uniform(0.2, 30), S.INVESTIGATING, me)
        recent = self.now - c.received_at < timedelta(days=BACKLOG_DAYS)
        if recent and r.random() < 0.02:  # forgotten lately: open, overdue unless paused
            if r.random() < 0.3:
                self.status(r.uniform(1, 72), S.AWAITING_CUSTOMER, me, self.pick("await"))
            return
        if r.random() < 0.2:
            self.status(pace * r.uniform(1, 72), S.AWAITING_CUSTOMER, me, self.pick("await"))
            self.contact(r.uniform(24, 240), me, "in", self.pick("info_contacts"))
            self.status(r.uniform(0.1, 8), S.INVESTIGATING, me)
        stalled = 24 * r.uniform(10, 40) if r.random() < 0.04 else 0  # a breach
        self.status(pace * r.lognormvariate(3.0, 0.6) + stalled, S.SOLUTION_PROPOSED, me)
        texts = D.RESOLUTIONS.get(c.leaf[2]) or D.RESOLUTIONS[c.leaf[1]]
        c.solution = r.choice(texts[f"{c.lang}_solutions"]).format_map(c.values)
        c.fault = draw(r, FAULTS)
        if c.fault != Fault.UNDETERMINED or r.random() < 0.3:
            c.root_cause = r.choice(texts[f"{c.lang}_root_causes"])
        self.contact(r.uniform(0.1, 4), me, "out", self.pick("solution_contacts"))
        if r.random() < 0.12:
            self.status(pace * r.uniform(8, 48), S.INVESTIGATING, me, self.pick("reject"))
            self.status(pace * r.uniform(16, 72), S.SOLUTION_PROPOSED, me)
        self.status(pace * r.uniform(4, 40), S.RESOLVED, me)
        c.resolution = self.pick("resolutions")
        # Closed once the customer confirms, or after a week or two without an answer.
        self.status(r.uniform(24, 336), S.CLOSED, head)
        if r.random() < 0.05:
            reason = self.pick("reopen")
            self.contact(r.uniform(72, 1000), r.choice(self.cs).pk, "in", reason, Channel.HOTLINE)
            self.status(r.uniform(0.5, 24), S.REOPENED, head, reason)
            self.status(r.uniform(1, 24), S.INVESTIGATING, me)
            self.status(r.uniform(24, 120), S.SOLUTION_PROPOSED, me)
            self.status(r.uniform(24, 72), S.RESOLVED, me)
            self.status(r.uniform(24, 168), S.CLOSED, head)

    def extras(self):
        """Internal notes and customers chasing, at random moments of the handling so far."""
        r, c, last = self.r, self.c, self.t
        if c.acknowledged_at is None or c.status in (S.MERGED, S.INVALID):
            return
        for _i in range(r.choice((0, 0, 1, 1, 1, 2, 3))):
            when = self.on_duty(c.acknowledged_at + (last - c.acknowledged_at) * r.random())
            if when > last:
                continue
            who = r.choice((self.assignee, self.head)) if c.assignee_id else self.head
            self.add(when, K.NOTE, who.pk, self.pick("notes"))
        if r.random() < 0.2:
            when = self.on_duty(c.created_at + (last - c.created_at) * r.random())
            if when > last:
                return
            data = {"contacted_at": when.isoformat()}
            chase = self.pick("chase_contacts")
            self.add(when, K.CONTACT, r.choice(self.cs).pk, chase, Channel.HOTLINE, "in", data)


def insert_events(events):
    """Insert timeline rows with executemany (COPY on PostgreSQL), adapting values as the ORM
    would. About six times faster than bulk_create for the ten or so events of every complaint,
    which is what keeps 100,000 complaints well within two minutes.
    """
    if not events:
        return
    qn, ops = connection.ops.quote_name, connection.ops
    columns = ", ".join(map(qn, EVENT_COLUMNS))
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    table = qn(ComplaintEvent._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - no user input
    adapt_time, adapt_data = ops.adapt_datetimefield_value, ComplaintEvent._meta.get_field("data")
    rows = [
        (c.pk, kind, actor, adapt_time(when), source, target, note, channel, direction,
         adapt_data.get_db_prep_save(data or {}, connection))
        for c, kind, actor, when, source, target, note, channel, direction, data in events
    ]  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # five times faster than executemany there
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, rows)
