from pydantic import SecretStr

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    http_port: int = 8080
    # Where the services answer; several copies of one sit behind one address (a balancer).
    intake_url: str = "http://127.0.0.1:8081"
    triage_url: str = "http://127.0.0.1:8082"
    treatment_url: str = "http://127.0.0.1:8083"
    notify_url: str = "http://127.0.0.1:8084"
    stats_url: str = "http://127.0.0.1:8085"
    # The address citizens use, for links in pages.
    public_url: str = "http://127.0.0.1:8080"
    # Signs the CSRF tokens of the forms.
    form_secret: SecretStr = SecretStr("development-only-form-secret")
    # Where the development mail server keeps what it receives (listed on /dev/mail).
    dev_mail_dir: str = ".run/mail"
    service_timeout: float = 10.0
    service_connections: int = 200
