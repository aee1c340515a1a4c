class ServiceError(Exception):
    """An error a user can cause; its message is translated and safe to show.

    Raising it means nothing was changed.
    """

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class NotPermitted(ServiceError):
    pass


class TransitionNotAllowed(ServiceError):
    pass


class StaleVersion(ServiceError):
    """Someone else changed the complaint since the user loaded it."""
