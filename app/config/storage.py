"""Static files in the app's media bucket (DJANGO_STATIC_STORAGE=s3, djangostack's apps[].static.storage
"spaces"): under static/, public-read, hashed names, and URLs on the Spaces CDN that DJANGO_STATIC_URL names."""
from urllib.parse import urlsplit

from django.conf import settings
from storages.backends.s3boto3 import S3ManifestStaticStorage


class StaticStorage(S3ManifestStaticStorage):
    # Class attributes win over the AWS_* settings the media storage reads (django-storages'
    # BaseStorage sets a default only where the class has none).
    location = "static"
    default_acl = "public-read"
    querystring_auth = False
    # collectstatic of a new release rewrites what changed; hashed names keep old pages working.
    file_overwrite = True

    def __init__(self, **kwargs):
        kwargs.setdefault("custom_domain", urlsplit(settings.STATIC_URL).netloc)
        super().__init__(**kwargs)
