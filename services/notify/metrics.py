"""Prometheus metrics of notify, beside the shared HTTP and messaging ones."""

from prometheus_client import Counter, Gauge, Histogram

MEDIUMS = ("email", "sms")

SENT = Counter(
    "milie_notifications_sent_total", "Notifications accepted by the provider", ["medium"]
)
FAILED = Counter(
    "milie_notifications_failed_total",
    "Notifications given up (permanent refusal or every attempt used)",
    ["medium"],
)
ATTEMPT_ERRORS = Counter(
    "milie_notification_attempt_errors_total",
    "Failed attempts to send a notification, temporary (retried) or permanent",
    ["medium", "kind"],
)
DELIVERY_LATENCY = Histogram(
    "milie_notification_delivery_seconds",
    "Time from a delivery's creation to its acceptance by the provider",
    ["medium"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
BATCH_SIZE = Histogram(
    "milie_notification_batch_size",
    "Deliveries claimed per claim by one sender worker (0: woken for nothing)",
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
)
PENDING = Gauge("milie_notifications_pending", "Deliveries waiting to be sent")
OLDEST_PENDING_AGE = Gauge(
    "milie_notifications_oldest_pending_age_seconds", "Age of the oldest delivery not yet sent"
)

# Show every series from the start, at zero, so that rates and alerts work before any event.
for _medium in MEDIUMS:
    SENT.labels(_medium)
    FAILED.labels(_medium)
    DELIVERY_LATENCY.labels(_medium)
    for _kind in ("temporary", "permanent"):
        ATTEMPT_ERRORS.labels(_medium, _kind)
