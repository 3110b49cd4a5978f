"""Prometheus metrics every process exposes on ``/metrics``."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "milie_http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "milie_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MESSAGES_PUBLISHED = Counter(
    "milie_messages_published_total", "Messages confirmed by the broker", ["type"]
)
MESSAGES_CONSUMED = Counter(
    "milie_messages_consumed_total", "Messages applied (or found already applied)", ["type"]
)
MESSAGES_DUPLICATE = Counter(
    "milie_messages_duplicate_total", "Messages received again and ignored (inbox)", ["type"]
)
MESSAGES_FAILED = Counter(
    "milie_messages_failed_total",
    "Message handling failures, temporary (retried) or not",
    ["type", "kind"],
)
MESSAGES_DEAD_LETTERED = Counter(
    "milie_messages_dead_lettered_total", "Messages sent to the dead-letter queue", ["type"]
)
OUTBOX_WAITING = Gauge("milie_outbox_waiting", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "milie_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row"
)
OUTBOX_PUBLISH_ERRORS = Counter(
    "milie_outbox_publish_errors_total", "Outbox rows whose publish failed", ["type", "kind"]
)
OUTBOX_ABANDONED = Counter(
    "milie_outbox_abandoned_total",
    "Outbox rows given up after their max_attempts unroutable publishes (replies to a vanished"
    " reply_to queue)",
    ["type"],
)
# Events that came before their request's submission (shared.early): parked, and dropped when
# the request never came within MILIE_PARKED_DAYS (a sign that events are lost upstream).
EVENTS_PARKED = Counter(
    "milie_events_parked_total", "Events parked until their request is known here", ["type"]
)
PARKED_EVENTS_DROPPED = Counter(
    "milie_parked_events_dropped_total",
    "Parked events dropped because their request never came",
    ["type"],
)
# A service's clock (shared.periodic): deadlines and closings (treatment), the purge (intake),
# staff digests and retention. A sweep that keeps failing is silent to citizens until a deadline
# is missed or personal data outlives its purge: counted, and its run of failures shown.
CLOCK_SWEEPS = Counter(
    "milie_clock_sweeps_total",
    "Sweeps of a service's clock, by how they ended",
    ["task", "outcome"],
)
CLOCK_CONSECUTIVE_FAILURES = Gauge(
    "milie_clock_consecutive_failures",
    "Sweeps of a clock failed in a row since its last success (0: the last one succeeded)",
    ["task"],
)
CLOCK_LAST_SUCCESS = Gauge(
    "milie_clock_last_success_timestamp_seconds",
    "When a clock's last sweep succeeded (Unix time)",
    ["task"],
)
