#!/usr/bin/env python3
"""A second Django project for the integration tests: ASGI with a WebSocket consumer (see README)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
