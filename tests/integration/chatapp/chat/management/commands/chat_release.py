import os

import redis
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Release step: warms the cache (a key in REDIS_URL's database) before the new release serves."

    def handle(self, *args, **options):
        redis.Redis.from_url(os.environ["REDIS_URL"]).set("chat:release", "warm")
        self.stdout.write("cache warmed")
