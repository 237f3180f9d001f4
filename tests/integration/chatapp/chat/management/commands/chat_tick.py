from django.core.management.base import BaseCommand

from chat.tasks import tick


class Command(BaseCommand):
    help = "Scheduled job: hands a tick to the Celery workers through the broker."

    def handle(self, *args, **options):
        result = tick.delay()
        self.stdout.write(f"enqueued {result.id}")
