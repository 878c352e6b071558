from django.db import models


class Counter(models.Model):
    id = models.CharField(max_length=50, primary_key=True)
    name = models.CharField(max_length=100)
    value = models.IntegerField(default=0)
    increments = models.IntegerField(default=0)
    closed = models.BooleanField(default=False)
    labels = models.JSONField(default=dict)
    opened_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.name


class CounterTotal(models.Model):
    key = models.CharField(max_length=10, primary_key=True)
    open_counters = models.IntegerField(default=0)
    total = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.key
