"""Personal data as callers without the pii:read scope see it: 138****5678, 张*, z***@qq.com."""


def mask_phone(phone: str) -> str:
    if len(phone) <= 4:
        return "*" * len(phone)
    if len(phone) <= 8:
        return "*" * (len(phone) - 4) + phone[-4:]
    return phone[:-8] + "****" + phone[-4:]


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)


def mask_email(email: str) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"
