"""Prometheus counters of the submissions that come through other channels (RabbitMQ, Open311),
beside the shared HTTP and messaging ones."""

from prometheus_client import Counter

# ``channel`` is the kind of channel (broker, open311), never a name sent by a caller: the label
# set stays small whatever they send.
SUBMISSIONS = Counter(
    "milie_channel_submissions_total",
    "Submissions received from other channels, by outcome "
    "(accepted, replayed, refused, unreadable)",
    ["channel", "outcome"],
)

for _channel in ("broker", "open311"):
    for _outcome in ("accepted", "replayed", "refused", "unreadable"):
        SUBMISSIONS.labels(_channel, _outcome)
