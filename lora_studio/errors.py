"""Errors a user can act on. The CLI and the studio print their message, never a traceback."""


class UserError(Exception):
    """Bad input or an unmet precondition; the message says what is wrong and what to do."""


class ConfigError(UserError):
    """A config file or a key=value override is wrong."""


class DatasetError(UserError):
    """The dataset folder cannot be used."""


class BaseModelError(UserError):
    """The base model cannot be loaded."""


class TrainingStopped(UserError):
    """Training stopped on purpose (NaN loss, out of memory); the message holds the advice."""
