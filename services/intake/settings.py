from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    http_port: int = 8081
    # Tracking look-ups (and rewrites) allowed per window, per code, per email and per client
    # address. Generous per address: many citizens share one behind a mobile operator's NAT.
    tracking_window_seconds: int = 900
    tracking_per_code: int = 10
    tracking_per_email: int = 10
    tracking_per_client: int = 100
    # « Code requête oublié ? » requests allowed per window, per email and per client address.
    reminder_window_seconds: int = 3600
    reminder_per_email: int = 3
    reminder_per_client: int = 20
    # A citizen's form kept between « Soumettre votre requête » and « OK » (typed values and
    # files) lives this long after its last change; expired ones are purged this often.
    draft_lifetime_seconds: int = 2 * 3600
    draft_purge_seconds: float = 60.0
    # A file comes from the gateway at the citizen's pace: given up after this long without a
    # byte (longer than the gateway's own wait for the citizen, so that it is the gateway that
    # tells the citizen their connection stalled).
    upload_idle_timeout: float = 60.0
