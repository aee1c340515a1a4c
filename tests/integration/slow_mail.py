"""The file email backend behind a slow SMTP server, for the workers of the digest tests."""

import os
import time

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    """REDRESS_IT_MAIL_DELAY seconds per batch before anything is written: a worker killed
    meanwhile has sent nothing."""

    def send_messages(self, email_messages):
        time.sleep(float(os.environ.get("REDRESS_IT_MAIL_DELAY", "0")))
        return super().send_messages(email_messages)
