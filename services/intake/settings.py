import re

from aiohttp import web
from pydantic import Field, model_validator

from shared.settings import PURGE_AFTER_DAYS, ServiceSettings

# A channel's name: the first part of its requests' keys (no ":", or two channels could share
# keys: "a:b" + "c" and "a" + "b:c") and of its reply queues' names (no ".", or one channel's
# queues could be named like another's: "a" + ".replies.x" and "a.replies" + …).
CHANNEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


class IntakeSettings(ServiceSettings):
    http_port: int = 8081
    # Tracking look-ups (and rewrites) allowed per window, per code, per email and per client
    # address. Generous per address: many citizens share one behind a mobile operator's NAT.
    tracking_window_seconds: int = 900
    tracking_per_code: int = 10
    tracking_per_email: int = 10
    tracking_per_client: int = 100
    # The defaults of the configuration table's settings (services/intake/limits.py: the
    # anonymous channels' submission limits, the proof of work, the SMS countries), as JSON in
    # MILIE_SUBMISSION_LIMITS ('{"submissions_per_email": 10}'); an administrator's value in the
    # table (PUT /config) wins over it.
    submission_limits: dict[str, int | list[int]] = Field(default_factory=dict)
    # « Code requête oublié ? » requests allowed per window, per email and per client address.
    reminder_window_seconds: int = 3600
    reminder_per_email: int = 3
    reminder_per_client: int = 20
    # A citizen's form kept between « Soumettre votre requête » and « OK » (typed values and
    # files) lives this long after its last change; expired ones are purged this often.
    draft_lifetime_seconds: int = 2 * 3600
    draft_purge_seconds: float = 60.0
    # Which RabbitMQ user is which channel, as JSON in MILIE_CHANNEL_USERS
    # ('{"rabbitmq-user": "channel-name"}'): a command's channel is the user that published it
    # (its AMQP user_id, which RabbitMQ checks), never a field of its body; a command from any
    # other user is dead-lettered. Given nothing, development and tests take guest as the
    # channel « guichet-unique »; production takes nobody, and refuses guest.
    channel_users: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _channels(self) -> "IntakeSettings":
        if not self.channel_users and self.env != "production":
            self.channel_users = {"guest": "guichet-unique"}
        if self.env == "production" and "guest" in self.channel_users:
            raise ValueError("channel_users: guest is no channel in production")
        for user, channel in self.channel_users.items():
            if not CHANNEL_NAME.fullmatch(channel):
                raise ValueError(
                    f"channel_users: {channel!r} (user {user!r}) is no channel name:"
                    " letters, digits, _ and - only"
                )
        return self

    # The purge (services/intake/purge.py): a request closed this many days ago loses the
    # citizen's personal data, here and, through request.personal_data_purged, everywhere.
    purge_after_days: int = Field(default=PURGE_AFTER_DAYS, ge=1)
    # How often intake looks for requests to purge; 0: never (a test calls purge.sweep).
    purge_interval_seconds: float = Field(default=3600, ge=0)
    # Requests purged per transaction: a crash loses at most one batch's work, done again.
    purge_batch: int = Field(default=100, ge=1, le=10000)

    # A file comes from the gateway at the citizen's pace: given up after this long without a
    # byte (longer than the gateway's own wait for the citizen, so that it is the gateway that
    # tells the citizen their connection stalled).
    upload_idle_timeout: float = 60.0


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("intake_settings", IntakeSettings)
