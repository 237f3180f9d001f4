"""`python manage.py mediacheck [--keep]`: proves the media storage from inside the app's container.

Saves a small object through Django's default storage (a volume's MEDIA_ROOT or the S3 bucket),
reads it back, prints one JSON line with the storage class, the stored name and the URL the app
hands out for it (signed for private objects on S3), and deletes it unless --keep is given.
"""
import json
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Write, read back and (unless --keep) delete a probe object in the media storage; print its URL."

    def add_arguments(self, parser):
        parser.add_argument("--keep", action="store_true", help="leave the probe object in place")

    def handle(self, *args, keep=False, **options):
        body = f"djangostack mediacheck {uuid.uuid4().hex}\n".encode()
        name = default_storage.save(f"djangostack-mediacheck/{uuid.uuid4().hex}.txt", ContentFile(body))
        with default_storage.open(name, "rb") as stored:
            if stored.read() != body:
                raise CommandError(f"{name} reads back different from what was written")
        url = default_storage.url(name)
        if not keep:
            default_storage.delete(name)
        storage = type(default_storage._wrapped if hasattr(default_storage, "_wrapped") else default_storage)
        self.stdout.write(json.dumps({"storage": f"{storage.__module__}.{storage.__name__}", "name": name, "url": url, "kept": keep}))
