"""Small, dependency-free helpers for reading settings from the environment."""
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def _env_parsed(name, default, parse, expected):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {expected}, got {value!r}") from None


def env_int(name, default):
    return _env_parsed(name, default, int, "an integer")


def env_float(name, default):
    return _env_parsed(name, default, float, "a number")


def env_list(name, default=()):
    """Comma-separated list; blanks are dropped, so "" means an empty list."""
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
