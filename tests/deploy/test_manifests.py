"""The production files of deploy/ checked against the code they describe, without a cluster.

Kubernetes manifests against ``deploy/local/platform.py`` (processes, modules, ports), the
settings classes (every variable is real, every process accepts its environment) and
``shared/topology.py`` (the queues KEDA measures, the RabbitMQ definitions); the PromQL of
``deploy/prometheus/rules.yml`` and of the Grafana dashboard against the metrics the code
registers with prometheus_client.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from pydantic import AliasChoices

from deploy.local.platform import GATEWAY_METRICS_PORT, PROCESSES, SERVICE_URL_VARS
from shared.messages import COMMAND_MAX_BYTES
from shared.settings import ServiceSettings
from shared.topology import COMMANDS, DEAD_LETTER, EVENTS, Topology

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
RABBITMQ = DEPLOY / "rabbitmq"
SECRET_TEMPLATE = K8S / "secret.example.yaml"
DASHBOARD = DEPLOY / "grafana" / "milie.json"
CONSUMERS = [name for name in PROCESSES if name != "gateway"]
# Where Prometheus reads each process: the services on their HTTP port, the gateway apart.
METRICS_PORTS = {name: port for name, (_, port) in PROCESSES.items()} | {
    "gateway": GATEWAY_METRICS_PORT
}
YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))


def _k8s_objects() -> list[dict[str, Any]]:
    return [doc for name in _kustomization(K8S)["resources"] for doc in _docs(K8S / name)]


def _objects(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for obj in _k8s_objects():
        if obj["kind"] == kind:
            assert obj["metadata"]["name"] not in found, f"two {kind}s named {obj['metadata']}"
            found[obj["metadata"]["name"]] = obj
    return found


def _configmap() -> dict[str, str]:
    return _objects("ConfigMap")["milie-config"]["data"]


def _secret_template() -> dict[str, Any]:
    (secret,) = _docs(SECRET_TEMPLATE)
    return secret


def _container(name: str) -> dict[str, Any]:
    (container,) = _objects("Deployment")[name]["spec"]["template"]["spec"]["containers"]
    return container


# --- every file parses, every manifest is listed ---------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_of_deploy_parses(path: Path) -> None:
    docs = _docs(path)
    assert docs, f"{path} is empty"
    if path.parent in (K8S, RABBITMQ) and path.name != "kustomization.yaml":
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), path
            assert doc["metadata"].get("name"), path


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = _kustomization(K8S)["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRET_TEMPLATE.name}
    assert sorted(listed) == sorted(on_disk)
    # Applying the base must never overwrite the real Secret with placeholders.
    assert SECRET_TEMPLATE.name not in listed
    assert not _objects("Secret")


def test_rabbitmq_kustomization_files_exist() -> None:
    kustomization = _kustomization(RABBITMQ)
    for name in kustomization["resources"]:
        assert (RABBITMQ / name).is_file()
    for generator in kustomization["configMapGenerator"]:
        for name in generator["files"]:
            assert (RABBITMQ / name).is_file()


# --- one Deployment per process ---------------------------------------------------------------


def _port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return number


def _dockerfile_uid() -> int:
    text = (DEPLOY / "container" / "Dockerfile").read_text(encoding="utf-8")
    return int(re.search(r"--uid (\d+)", text).group(1))


def _check_locked_down(pod: dict[str, Any], container: dict[str, Any]) -> None:
    """The pod runs as the image's user, read-only but /tmp, with its resources said."""
    pod_security = pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == _dockerfile_uid()
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_process_has_a_deployment_with_its_command_port_and_probes(name: str) -> None:
    module, port = PROCESSES[name]
    deployment = _objects("Deployment")[name]
    template = deployment["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    container = _container(name)
    assert container["image"] == "milie"  # kustomization.yaml's images: entry
    assert container["command"] == ["python", "-m", module]
    ports = [_port_number(container, p["containerPort"]) for p in container["ports"]]
    env = {e["name"]: e for e in container["env"]}
    assert env["MILIE_HTTP_PORT"]["value"] == str(port)
    if name == "gateway":
        assert ports == [port, GATEWAY_METRICS_PORT]
        assert _port_number(container, "metrics") == GATEWAY_METRICS_PORT
        assert env["MILIE_METRICS_PORT"]["value"] == str(GATEWAY_METRICS_PORT)
        assert env["MILIE_METRICS_HOST"]["value"] == "0.0.0.0"  # the pod's address
    else:
        assert ports == [port]
    for probe, path in (
        ("startupProbe", "/health/live"),
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ):
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path, probe
        assert _port_number(container, http_get["port"]) == port, probe
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(METRICS_PORTS[name])
    assert annotations["prometheus.io/path"] == "/metrics"

    _check_locked_down(template["spec"], container)

    service = _objects("Service")[name]
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert service["spec"]["selector"].items() <= labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == port
    assert _port_number(container, service_port["targetPort"]) == port

    pdb = _objects("PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_no_deployment_without_a_process() -> None:
    assert set(_objects("Deployment")) == set(PROCESSES)


def test_only_the_gateway_is_public() -> None:
    (ingress,) = _objects("Ingress").values()
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends
    for backend in backends:
        assert backend["name"] == "gateway"
        assert backend["port"].get("number", PROCESSES["gateway"][1]) == PROCESSES["gateway"][1]
        assert backend["port"].get("name", "http") == "http"
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert _configmap()["MILIE_PUBLIC_URL"] == f"https://{hosts.pop()}"


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def test_the_ingress_lets_a_full_submission_through() -> None:
    from gateway.citizen.uploads import MAX_BODY

    (ingress,) = _objects("Ingress").values()
    limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert _size(limit) >= MAX_BODY


def test_the_gateway_scales_on_cpu() -> None:
    (hpa,) = _objects("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    assert hpa["spec"]["minReplicas"] >= 2  # the PodDisruptionBudget lets one go
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


# --- the dead-letter collector: a CronJob of `milie dead-letters collect` ---------------------

COLLECTOR = "dead-letters"


def _collector_template() -> dict[str, Any]:
    return _objects("CronJob")[COLLECTOR]["spec"]["jobTemplate"]["spec"]["template"]


def _collector_container() -> dict[str, Any]:
    (container,) = _collector_template()["spec"]["containers"]
    return container


def test_the_dead_letter_collector_runs_collect_daily_one_run_at_a_time() -> None:
    import tomllib

    from deploy.local import cli

    assert set(_objects("CronJob")) == {COLLECTOR}
    spec = _objects("CronJob")[COLLECTOR]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    minute, hour, *every_day = spec["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and every_day == ["*", "*", "*"]
    job = spec["jobTemplate"]["spec"]
    # Forbid skips a run while one is going: a run that hangs must end well before the next.
    assert 0 < job["activeDeadlineSeconds"] <= 3600
    pod = _collector_template()["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    container = _collector_container()
    assert container["image"] == "milie"  # the services' image, kustomization.yaml's entry
    # The image installs the project (Dockerfile: pip install .), whose console script is milie.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["milie"] == "deploy.local.cli:main"
    assert "COPY deploy/local" in (DEPLOY / "container" / "Dockerfile").read_text(encoding="utf-8")
    program, *argv = container["command"]
    assert program == "milie"
    args = cli.parser().parse_args(argv)
    assert (args.command, args.letters_command) == ("dead-letters", "collect")
    _check_locked_down(pod, container)
    assert "prometheus.io/scrape" not in _collector_template()["metadata"].get("annotations", {})


def _collector_env(secret: dict[str, str] | None = None) -> dict[str, str]:
    return _container_env(_collector_container(), secret)


def test_the_collector_reads_the_services_config_and_only_the_urls_of_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deploy.local.dead_letters import DeadLetterSettings

    container = _collector_container()
    assert [e["configMapRef"]["name"] for e in container["envFrom"]] == ["milie-config"]
    secret = _secret_template()
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert {ref["name"] for ref in refs} == {secret["metadata"]["name"]}
    # It signs no call: no identity secret, only where the letters are.
    assert sorted(ref["key"] for ref in refs) == ["AMQP_URL", "DATABASE_URL"]
    assert {e["name"] for e in container["env"]} <= _env_names(DeadLetterSettings)
    # The purge delay intake purges with, from the one ConfigMap, overridden by neither.
    assert "MILIE_PURGE_AFTER_DAYS" in _configmap()
    assert "MILIE_PURGE_AFTER_DAYS" in _env_names(_settings_class("intake"))
    for env in (container["env"], _container("intake")["env"]):
        assert "MILIE_PURGE_AFTER_DAYS" not in {e["name"] for e in env}

    _set_environment(monkeypatch, _collector_env(_filled_secret()))
    settings = DeadLetterSettings()
    assert settings.env == "production"
    assert settings.broker_namespace == ""  # the queues of deploy/rabbitmq/definitions.json
    assert settings.purge_after_days == int(_configmap()["MILIE_PURGE_AFTER_DAYS"])

    from pydantic import ValidationError

    from shared.settings import describe

    _set_environment(monkeypatch, _collector_env())
    with pytest.raises(ValidationError) as refused:
        DeadLetterSettings()
    refusal = describe(refused.value)
    for var in ("DATABASE_URL", "AMQP_URL"):
        assert f"{var}: still holds the CHANGE-ME placeholder" in refusal, var


def test_the_compose_file_collects_the_dead_letters_too() -> None:
    compose = yaml.safe_load((DEPLOY / "container" / "compose.yaml").read_text(encoding="utf-8"))
    collector = compose["services"][COLLECTOR]
    assert "milie dead-letters collect" in " ".join(collector["command"])
    assert collector["restart"] == "unless-stopped"  # the loop comes back after a reboot
    assert collector["healthcheck"] == {"disable": True}  # the image's asks an HTTP port
    purge = collector["environment"]["MILIE_PURGE_AFTER_DAYS"]
    assert compose["services"]["intake"]["environment"]["MILIE_PURGE_AFTER_DAYS"] == purge


# --- NetworkPolicies: nothing but what the design uses ------------------------------------------
#
# A small reading of the NetworkPolicy rules (policyTypes, pod and namespace selectors with
# matchLabels and matchExpressions, ipBlock, named and numbered ports), enough to ask of the
# manifests, connection by connection, whether it goes through.


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str | None  # None: an address outside the cluster (PostgreSQL, the mail relay)
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[str, int], ...] = ()  # the containers' named ports


def _pod(
    name: str, namespace: str | None, labels: dict[str, str], ports: dict[str, int] | None = None
) -> Pod:
    return Pod(name, namespace, tuple(labels.items()), tuple((ports or {}).items()))


@functools.cache
def _process_pod(name: str) -> Pod:
    template = _objects("Deployment")[name]["spec"]["template"]
    ports = {p["name"]: p["containerPort"] for p in _container(name)["ports"]}
    return _pod(name, "milie", template["metadata"]["labels"], ports)


NAME = "app.kubernetes.io/name"
INGRESS_CONTROLLER = _pod("ingress", "ingress-nginx", {NAME: "ingress-nginx"})
PROMETHEUS = _pod("prometheus", "monitoring", {NAME: "prometheus"})
RABBITMQ_POD = _pod("rabbitmq", "milie-rabbitmq", {NAME: "milie-rabbitmq"}, {"amqp": 5672})
DNS = _pod("dns", "kube-system", {"k8s-app": "kube-dns"})
OUTSIDE = _pod("outside", None, {})  # PostgreSQL, the SMTP relay, Orange's API
DEBUG = _pod("debug", "milie", {"run": "debug"})  # kubectl run in the namespace
STRANGER = _pod("stranger", "default", {"app": "whatever"})


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def _peer_matches(peer: dict[str, Any], policy_namespace: str, pod: Pod) -> bool:
    if "ipBlock" in peer:
        return pod.namespace is None  # pods' own addresses are not what these blocks name
    if pod.namespace is None:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return _selects(peer.get("podSelector", {}), dict(pod.labels))


def _port_matches(
    ports: list[dict[str, Any]] | None, target: Pod, port: int, protocol: str
) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = wanted if isinstance(wanted, int) else dict(target.ports).get(wanted)
        if number is not None and number <= port <= entry.get("endPort", number):
            return True
    return False


def _direction_allows(
    policies: list[dict[str, Any]], subject: Pod, peer: Pod, target: Pod, port: int,
    protocol: str, direction: str,
) -> bool:  # fmt: skip
    """Whether the policies of ``subject``'s namespace let this connection out (Egress) or in
    (Ingress); a pod no policy of that type selects is open that way."""
    if subject.namespace != "milie":
        return True  # other namespaces are not ours to restrict here
    rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    selecting = [
        policy
        for policy in policies
        if direction in policy["spec"]["policyTypes"]
        and _selects(policy["spec"]["podSelector"], dict(subject.labels))
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(rules_key, []):
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(p, "milie", peer) for p in peers):
                continue
            if _port_matches(rule.get("ports"), target, port, protocol):
                return True
    return False


@functools.cache
def _network_policies() -> tuple[dict[str, Any], ...]:
    return tuple(_objects("NetworkPolicy").values())


def _allowed(source: Pod, target: Pod, port: int, protocol: str = "TCP") -> bool:
    policies = list(_network_policies())
    return _direction_allows(
        policies, source, target, target, port, protocol, "Egress"
    ) and _direction_allows(policies, target, source, target, port, protocol, "Ingress")


def test_every_network_policy_says_its_types() -> None:
    policies = _objects("NetworkPolicy")
    for name, policy in policies.items():
        types = policy["spec"]["policyTypes"]  # implicit types are easy to misread
        assert set(types) <= {"Ingress", "Egress"} and types, name
        for key in ("ingress", "egress"):
            for rule in policy["spec"].get(key, []):
                for peer in rule.get("from", []) + rule.get("to", []):
                    assert {"podSelector", "namespaceSelector", "ipBlock"} >= peer.keys(), name
    default_deny = [
        p
        for p in policies.values()
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert default_deny, "no default-deny policy for the namespace"


def _expected_between_processes(source: str, target: str) -> bool:
    if source == "gateway":
        return target != "gateway"  # the gateway calls every service
    return (source, target) == ("triage", "intake")  # the catalogue, for a re-index


@pytest.mark.parametrize("source", list(PROCESSES))
def test_between_processes_only_the_calls_of_the_design(source: str) -> None:
    for target in PROCESSES:
        port = PROCESSES[target][1]
        expected = _expected_between_processes(source, target)
        assert _allowed(_process_pod(source), _process_pod(target), port) == expected, (
            f"{source} → {target}:{port}"
        )


def test_the_ingress_controller_reaches_the_gateways_public_port_only() -> None:
    gateway = _process_pod("gateway")
    assert _allowed(INGRESS_CONTROLLER, gateway, PROCESSES["gateway"][1])
    assert not _allowed(INGRESS_CONTROLLER, gateway, GATEWAY_METRICS_PORT)
    for name in CONSUMERS:
        assert not _allowed(INGRESS_CONTROLLER, _process_pod(name), PROCESSES[name][1]), name


def test_prometheus_reaches_every_metrics_port_and_not_the_gateways_public_one() -> None:
    for name in PROCESSES:
        assert _allowed(PROMETHEUS, _process_pod(name), METRICS_PORTS[name]), name
    assert not _allowed(PROMETHEUS, _process_pod("gateway"), PROCESSES["gateway"][1])


def test_every_process_reaches_dns_and_postgresql_and_the_services_rabbitmq() -> None:
    smtp_port = int(_configmap()["MILIE_SMTP_PORT"])
    for name in PROCESSES:
        pod = _process_pod(name)
        assert _allowed(pod, DNS, 53, "UDP") and _allowed(pod, DNS, 53, "TCP"), name
        assert _allowed(pod, OUTSIDE, 5432), name
        assert _allowed(pod, RABBITMQ_POD, 5672) == (name != "gateway"), name
        # Out of the cluster: notify alone, to the mail relay and the SMS provider's API.
        assert _allowed(pod, OUTSIDE, smtp_port) == (name == "notify"), name
        assert _allowed(pod, OUTSIDE, 443) == (name == "notify"), name
        assert not _allowed(pod, OUTSIDE, 80), name


def test_no_other_pod_reaches_a_process_or_is_reached_by_one() -> None:
    for name in PROCESSES:
        pod = _process_pod(name)
        for port in {PROCESSES[name][1], METRICS_PORTS[name]}:
            for stranger in (DEBUG, STRANGER, OUTSIDE, RABBITMQ_POD):
                assert not _allowed(stranger, pod, port), (stranger.name, name, port)
        assert not _allowed(pod, DEBUG, 8080), name
        assert not _allowed(pod, STRANGER, 8080), name


def test_the_collector_reaches_dns_postgresql_and_rabbitmq_and_nothing_reaches_it() -> None:
    collector = _pod(COLLECTOR, "milie", _collector_template()["metadata"]["labels"])
    assert _allowed(collector, DNS, 53, "UDP") and _allowed(collector, DNS, 53, "TCP")
    assert _allowed(collector, OUTSIDE, 5432)
    assert _allowed(collector, RABBITMQ_POD, 5672)
    for port in (80, 443, int(_configmap()["MILIE_SMTP_PORT"])):
        assert not _allowed(collector, OUTSIDE, port), port
    for name in PROCESSES:
        for port in {PROCESSES[name][1], METRICS_PORTS[name]}:
            assert not _allowed(collector, _process_pod(name), port), (name, port)
        assert not _allowed(_process_pod(name), collector, 8080), name
    for other in (INGRESS_CONTROLLER, PROMETHEUS, DEBUG, STRANGER, OUTSIDE, RABBITMQ_POD):
        assert not _allowed(other, collector, 8080), other.name
    assert not _allowed(collector, DEBUG, 8080) and not _allowed(collector, STRANGER, 8080)


def test_the_policy_reading_catches_an_open_door() -> None:
    """The checks above fail on a policy that lets a stranger in."""
    open_door = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "open"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]},
    }
    policies = [*_objects("NetworkPolicy").values(), open_door]
    stats = _process_pod("stats")
    assert _direction_allows(policies, stats, STRANGER, stats, 8085, "TCP", "Ingress")
    assert not _direction_allows(
        list(_objects("NetworkPolicy").values()), stats, STRANGER, stats, 8085, "TCP", "Ingress"
    )


# --- KEDA: each consumer on its own queue -----------------------------------------------------


def test_every_consumer_scales_on_its_own_queue() -> None:
    topology = Topology(_configmap()["MILIE_BROKER_NAMESPACE"])
    scaled = _objects("ScaledObject")
    assert set(scaled) == set(CONSUMERS)
    auth = _objects("TriggerAuthentication")
    secret_keys = set(_secret_template()["stringData"])
    for name, obj in scaled.items():
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert spec.get("scaleTargetRef", {}).get("kind", "Deployment") == "Deployment"
        assert spec["minReplicaCount"] >= 2, name  # HTTP, outbox relay, PodDisruptionBudget
        assert spec["maxReplicaCount"] >= spec["minReplicaCount"]
        (rabbitmq,) = [t for t in spec["triggers"] if t["type"] == "rabbitmq"]
        assert rabbitmq["metadata"]["queueName"] == topology.queue(name)
        assert rabbitmq["metadata"]["mode"] == "QueueLength"
        for ref in auth[rabbitmq["authenticationRef"]["name"]]["spec"]["secretTargetRef"]:
            assert ref["name"] == _secret_template()["metadata"]["name"]
            assert ref["key"] in secret_keys
        if "fallback" in spec:
            # KEDA refuses a fallback beside cpu/memory triggers or without AverageValue.
            for trigger in spec["triggers"]:
                assert trigger["type"] not in ("cpu", "memory"), name
                assert trigger.get("metricType") == "AverageValue", name


# --- settings: every variable is real, every process accepts its environment ------------------


def _settings_class(name: str) -> type[ServiceSettings]:
    module_name = f"{PROCESSES[name][0]}.settings"
    module = importlib.import_module(module_name)
    (cls,) = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj.__module__ == module_name
    ]
    return cls


def _env_names(cls: type[ServiceSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def _all_env_names() -> set[str]:
    return set().union(*(_env_names(_settings_class(name)) for name in PROCESSES))


def test_the_configmap_and_the_secret_hold_real_settings_only() -> None:
    real = _all_env_names()
    assert not set(_configmap()) - real, "not a setting of any process"
    assert not set(_secret_template()["stringData"]) - real, "not a setting of any process"
    for name in PROCESSES:
        for entry in _container(name)["env"]:
            assert entry["name"] in _env_names(_settings_class(name)), (name, entry["name"])


def test_the_secret_template_holds_placeholders_only() -> None:
    data = _secret_template()["stringData"]
    # Every secret a process refuses in production is in the template (an empty one passed).
    assert {"MILIE_IDENTITY_SECRET", "MILIE_FORM_SECRET", "DATABASE_URL", "AMQP_URL"} <= set(data)
    for key, value in data.items():
        assert value == "" or "CHANGE-ME" in value, key


def test_every_reference_to_the_configmap_and_the_secret_resolves() -> None:
    secret = _secret_template()
    for name in PROCESSES:
        container = _container(name)
        assert [e["configMapRef"]["name"] for e in container["envFrom"]] == ["milie-config"]
        for entry in container["env"]:
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["stringData"], (name, ref["key"])


def test_the_service_urls_name_the_services() -> None:
    config = _configmap()
    for name, var in SERVICE_URL_VARS.items():
        assert config[var] == f"http://{name}:{PROCESSES[name][1]}"


def _process_env(name: str, secret: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the process's container, with the template's values or ``secret``."""
    return _container_env(_container(name), secret)


def _container_env(
    container: dict[str, Any], secret: dict[str, str] | None = None
) -> dict[str, str]:
    env = dict(_configmap())
    secret = _secret_template()["stringData"] if secret is None else secret
    for entry in container["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        else:
            env[entry["name"]] = secret[entry["valueFrom"]["secretKeyRef"]["key"]]
    return env


def _filled_secret() -> dict[str, str]:
    """The template with real-looking values where it holds placeholders."""
    import secrets

    return {
        key: value.replace("CHANGE-ME", secrets.token_urlsafe(48))
        for key, value in _secret_template()["stringData"].items()
    }


def _set_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    import os

    for var in list(os.environ):
        if var.startswith("MILIE_") or var in ("DATABASE_URL", "AMQP_URL"):
            monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_process_accepts_its_environment(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_environment(monkeypatch, _process_env(name, _filled_secret()))
    settings = _settings_class(name)()  # the validators run: pool sizes, SMS, proxies, keys
    assert settings.http_port == PROCESSES[name][1]
    assert settings.env == "production"
    assert settings.broker_namespace == ""
    assert settings.http_host == "0.0.0.0"


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_process_refuses_the_templates_placeholders(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied unchanged, the template stops every process, each key it reads named."""
    from pydantic import ValidationError

    from shared.settings import describe

    env = _process_env(name)
    _set_environment(monkeypatch, env)
    with pytest.raises(ValidationError) as refused:
        _settings_class(name)()
    refusal = describe(refused.value)
    placeholders = {var for var, value in env.items() if "CHANGE-ME" in value}
    assert {"MILIE_IDENTITY_SECRET", "DATABASE_URL"} <= placeholders
    for var in placeholders:
        assert f"{var}: still holds the CHANGE-ME placeholder" in refusal, var


# --- RabbitMQ ---------------------------------------------------------------------------------


def _conf(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _cluster() -> dict[str, Any]:
    (cluster,) = [d for d in _docs(RABBITMQ / "cluster.yaml") if d["kind"] == "RabbitmqCluster"]
    return cluster


def test_rabbitmq_conf_and_the_operator_agree() -> None:
    conf = _conf((RABBITMQ / "rabbitmq.conf").read_text(encoding="utf-8"))
    assert conf["default_queue_type"] == "quorum"
    nodes = [k for k in conf if k.startswith("cluster_formation.classic_config.nodes.")]
    assert len(nodes) == 3
    assert {"vm_memory_high_watermark.relative", "disk_free_limit.relative"} <= conf.keys()
    # The broker's own cap on a message stays above what intake refuses itself (a command).
    assert int(conf["max_message_size"]) >= COMMAND_MAX_BYTES
    cluster = _cluster()
    assert cluster["spec"]["replicas"] == len(nodes)
    operator = _conf(cluster["spec"]["rabbitmq"]["additionalConfig"])
    # The operator does the cluster formation; everything else is the same.
    assert operator == {k: v for k, v in conf.items() if not k.startswith("cluster_formation.")}


def test_the_definitions_are_mounted_where_rabbitmq_conf_reads_them() -> None:
    conf = _conf((RABBITMQ / "rabbitmq.conf").read_text(encoding="utf-8"))
    path = Path(conf["definitions.local.path"])
    pod = _cluster()["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
    mounts = [m for c in pod["containers"] for m in c["volumeMounts"]]
    (mount,) = [m for m in mounts if m["name"] == "definitions"]
    assert Path(mount["mountPath"]) == path.parent
    (volume,) = [v for v in pod["volumes"] if v["name"] == "definitions"]
    (generator,) = _kustomization(RABBITMQ)["configMapGenerator"]
    assert volume["configMap"]["name"] == generator["name"]
    assert generator["files"] == [path.name]
    assert generator["options"]["disableNameSuffixHash"] is True


def test_the_definitions_declare_what_the_services_declare() -> None:
    """Same names and arguments as shared/topology.py, or a service's declaration would fail."""
    definitions = json.loads((RABBITMQ / "definitions.json").read_text(encoding="utf-8"))
    topology = Topology(_configmap()["MILIE_BROKER_NAMESPACE"])
    delivery_limit = int(_configmap()["MILIE_DELIVERY_LIMIT"])
    exchanges = {e["name"]: e["type"] for e in definitions["exchanges"]}
    assert exchanges == {
        topology.exchange(EVENTS): "topic",
        topology.exchange(COMMANDS): "topic",
        topology.exchange(DEAD_LETTER): "direct",
    }
    assert all(e["durable"] for e in definitions["exchanges"])
    expected = {}
    for service in CONSUMERS:
        expected[topology.queue(service)] = topology.queue_arguments(service, delivery_limit)
        expected[topology.dead_letter_queue(service)] = topology.dead_letter_queue_arguments()
    assert {q["name"]: q["arguments"] for q in definitions["queues"]} == expected
    assert all(q["durable"] and not q["auto_delete"] for q in definitions["queues"])
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in definitions["bindings"]}
    assert bindings == {
        (topology.exchange(DEAD_LETTER), topology.dead_letter_queue(s), s) for s in CONSUMERS
    }
    # Every queue is bounded, and refuses publishes when full (shared/topology.py says why by
    # a policy), with the same policy the tests set.
    assert definitions["policies"] == [topology.limits_policy()]
    pattern = re.compile(topology.limits_policy()["pattern"])
    assert all(pattern.match(q["name"]) for q in definitions["queues"])
    # The private broker of a development machine gets the same policy.
    script = (ROOT / "deploy" / "local" / "ensure-infra.sh").read_text(encoding="utf-8")
    name, pattern, definition = re.search(
        r"set_policy --apply-to queues (\S+) '([^']+)' \\\n\s*'([^']+)'", script
    ).groups()
    policy = Topology().limits_policy()
    assert (name, pattern, json.loads(definition)) == (
        policy["name"],
        policy["pattern"],
        policy["definition"],
    )
    # A policy must not fight the queue arguments the services declare.
    for policy in definitions.get("policies", []):
        assert not {"delivery-limit", "dead-letter-exchange", "dead-letter-routing-key"} & set(
            policy["definition"]
        ), policy["name"]


# --- PromQL of the alert rules and the dashboard against the registered metrics ---------------

# Labels the scrape configurations add to every series (prometheus.yml,
# prometheus-kubernetes.yml).
TARGET_LABELS = {"job", "instance", "service"}
# RabbitMQ's per-object metrics (rabbitmq_prometheus, /metrics/per-object) used here.
RABBITMQ_METRICS = {
    name: {"vhost", "queue"}
    for name in (
        "rabbitmq_queue_messages",
        "rabbitmq_queue_messages_ready",
        "rabbitmq_queue_messages_unacked",
        "rabbitmq_queue_consumers",
    )
}
# kube-state-metrics' CronJob metrics (the prometheus-kubernetes.yml job of that name).
KUBE_STATE_METRICS = {
    name: {"namespace", "cronjob"}
    for name in ("kube_cronjob_status_last_successful_time", "kube_cronjob_created")
}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and",
    "or", "unless", "inf", "nan",
}  # fmt: skip


def _metric_modules() -> Iterator[str]:
    for package in ("shared", "services", "gateway"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "prometheus_client" in text and re.search(
                r"\b(Counter|Gauge|Histogram|Summary|Info|Enum)\(", text
            ):
                yield ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _series() -> dict[str, set[str]]:
    """Every series name the processes expose, with its labels."""
    series: dict[str, set[str]] = {}
    modules = list(_metric_modules())
    assert "shared.metrics" in modules
    for module_name in modules:
        for obj in vars(importlib.import_module(module_name)).values():
            if not isinstance(obj, MetricWrapperBase):
                continue
            name, labels = obj._name, set(obj._labelnames)
            suffixes = {
                "counter": {"_total": set(), "_created": set()},
                "gauge": {"": set()},
                "histogram": {"_bucket": {"le"}, "_count": set(), "_sum": set(), "_created": set()},
                "summary": {"": {"quantile"}, "_count": set(), "_sum": set(), "_created": set()},
                "info": {"_info": set()},
                "stateset": {"": {name}},
            }[obj._type]
            for suffix, extra in suffixes.items():
                series[name + suffix] = labels | extra
    for family in REGISTRY.collect():  # process_* and python_* of the default collectors
        for sample in family.samples:
            if not sample.name.startswith("milie_"):
                series.setdefault(sample.name, set()).update(sample.labels)
    series["up"] = set()
    series.update(RABBITMQ_METRICS)
    series.update(KUBE_STATE_METRICS)
    return series


def _parse(expr: str) -> tuple[list[tuple[str, list[tuple[str, str, str]]]], set[str]]:
    """(selectors as (metric, [(label, op, value)]), grouping labels) of a PromQL expression."""
    strings: list[str] = []

    def keep(match: re.Match) -> str:  # string literals aside: a regex may hold [ ] ( ) { }
        strings.append(match.group(1))
        return f'"{len(strings) - 1}"'

    expr = re.sub(r'"((?:[^"\\]|\\.)*)"', keep, expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery durations
    grouping: set[str] = set()

    def group(match: re.Match) -> str:
        grouping.update(label.strip() for label in match.group(2).split(",") if label.strip())
        return " "

    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", group, expr)
    selectors = []

    def braces(match: re.Match) -> str:
        matchers = re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"(\d+)"', match.group(2))
        selectors.append((match.group(1), [(k, op, strings[int(i)]) for k, op, i in matchers]))
        return " "

    expr = re.sub(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}", braces, expr)
    expr = re.sub(r'"\d+"', " ", expr)
    for name in re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?!\s*\(|\w)", expr):
        if name.lower() not in PROMQL_WORDS:
            selectors.append((name, []))
    return selectors, grouping


def _queue_names() -> set[str]:
    topology = Topology()
    return {topology.queue(s) for s in CONSUMERS} | {
        topology.dead_letter_queue(s) for s in CONSUMERS
    }


def _route_strings() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for package in ("gateway", "services")
        for path in (ROOT / package).rglob("*.py")
    )


def _check_promql(expr: str, where: str, series: dict[str, set[str]], jobs: set[str]) -> None:
    selectors, grouping = _parse(expr)
    assert selectors, f"{where}: no metric in {expr!r}"
    available = set(TARGET_LABELS)
    for metric, matchers in selectors:
        assert metric in series, f"{where}: {metric} is not a metric the code registers"
        available |= series[metric]
        for label, op, value in matchers:
            assert label in series[metric] | TARGET_LABELS, f"{where}: {metric} has no {label}"
            if label == "service" and op == "=":
                assert value in PROCESSES, f"{where}: no process {value!r}"
            if label == "job" and op == "=":
                assert value in jobs, f"{where}: no scrape job {value!r}"
            if label == "queue":  # the names shared/topology.py gives (no namespace here)
                pattern = value.replace("\\\\", "\\") if op == "=~" else re.escape(value)
                assert any(re.fullmatch(pattern, q) for q in _queue_names()), f"{where}: {value}"
            if label == "route":
                literal = [v for v in value.split("|") if not re.search(r"[.*+?()\[\]\\]", v)]
                for route in literal if op == "=~" else [value]:
                    assert f'"{route}"' in _route_strings(), f"{where}: no route {route!r}"
    assert grouping <= available, f"{where}: grouping by {grouping - available}"


def _scrape_jobs() -> set[str]:
    return {
        job["job_name"]
        for path in (DEPLOY / "prometheus").glob("prometheus*.yml")
        for job in _docs(path)[0]["scrape_configs"]
    }


def _rule_exprs() -> list[tuple[str, str]]:
    (rules,) = _docs(DEPLOY / "prometheus" / "rules.yml")
    return [
        (rule.get("alert") or rule.get("record"), rule["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
    ]


def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            exprs.append((f"{panel['title']} {target['refId']}", target["expr"]))
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            metric, label = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query["query"]).groups()
            exprs.append((f"${variable['name']}", f"sum by ({label}) ({metric})"))
    return exprs


def test_the_alert_rules_use_metrics_and_labels_that_exist() -> None:
    series, jobs = _series(), _scrape_jobs()
    exprs = _rule_exprs()
    assert exprs
    for where, expr in exprs:
        _check_promql(expr, f"rules.yml {where}", series, jobs)


def test_the_collector_alerts_watch_its_cronjob_and_every_dead_letter_queue() -> None:
    rules = dict(_rule_exprs())
    selectors, _ = _parse(rules["MilieDeadLetterCollectorLate"])
    assert {metric for metric, _ in selectors} == set(KUBE_STATE_METRICS)
    for _, matchers in selectors:
        assert {label: value for label, _, value in matchers} == {
            "namespace": _kustomization(K8S)["namespace"],
            "cronjob": COLLECTOR,
        }
    ((metric, matchers),), _ = _parse(rules["MilieDeadLettersUncollected"])
    assert metric == "rabbitmq_queue_messages"
    ((label, op, value),) = matchers
    assert (label, op) == ("queue", "=~")
    pattern = value.replace("\\\\", "\\")
    watched = {q for q in _queue_names() if re.fullmatch(pattern, q)}
    assert watched == {Topology().dead_letter_queue(s) for s in CONSUMERS}
    # Both sources are scraped: RabbitMQ's per-object metrics wherever the platform runs,
    # kube-state-metrics in the cluster.
    for path, jobs in (
        ("prometheus.yml", {"rabbitmq"}),
        ("prometheus-kubernetes.yml", {"rabbitmq", "kube-state-metrics"}),
    ):
        (config,) = _docs(DEPLOY / "prometheus" / path)
        scraped = {j["job_name"]: j for j in config["scrape_configs"]}
        assert jobs <= scraped.keys(), path
        assert scraped["rabbitmq"]["metrics_path"] == "/metrics/per-object", path


def test_the_dashboard_uses_metrics_and_labels_that_exist() -> None:
    series, jobs = _series(), _scrape_jobs()
    exprs = _dashboard_exprs()
    assert len(exprs) > 10
    for where, expr in exprs:
        _check_promql(expr.replace("$__rate_interval", "5m"), f"dashboard {where}", series, jobs)


def test_the_promql_check_catches_a_wrong_name() -> None:
    series, jobs = _series(), _scrape_jobs()
    for bad in (
        "rate(milie_http_requests[5m])",  # the counter's series ends in _total
        "milie_http_request_duration_seconds",  # a histogram is read through _bucket
        'sum by (medium) (rate(milie_http_requests_total{route="/api/v1/requests"}[5m]))',
        'milie_outbox_waiting{type="x"}',
        'rate(milie_http_requests_total{route="/no/such/route"}[5m])',
        'rabbitmq_queue_messages_ready{queue=~"milie_intake"}',
    ):
        with pytest.raises(AssertionError):
            _check_promql(bad, "self-test", series, jobs)


def test_the_dashboard_is_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert {"title", "uid", "schemaVersion", "panels", "templating"} <= dashboard.keys()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"type", "title", "gridPos"} <= panel.keys()
        if panel["type"] != "row":
            assert panel["datasource"]["type"] == "prometheus"
            assert all(target["expr"] for target in panel["targets"])


def test_kubernetes_scrape_config_gives_the_labels_of_the_rules() -> None:
    (config,) = _docs(DEPLOY / "prometheus" / "prometheus-kubernetes.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "milie"]
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"service", "__address__", "__metrics_path__"} <= targets
    assert config["rule_files"] == ["rules.yml"]


def test_the_broker_address_and_scrape_job_find_the_rabbitmq_cluster() -> None:
    from urllib.parse import urlsplit

    cluster = _cluster()["metadata"]
    (namespace,) = [d for d in _docs(RABBITMQ / "namespace.yaml") if d["kind"] == "Namespace"]
    assert cluster["namespace"] == namespace["metadata"]["name"]
    assert _kustomization(RABBITMQ)["namespace"] == cluster["namespace"]
    url = urlsplit(_secret_template()["stringData"]["AMQP_URL"])
    assert url.hostname == f"{cluster['name']}.{cluster['namespace']}.svc"
    (config,) = _docs(DEPLOY / "prometheus" / "prometheus-kubernetes.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "rabbitmq"]
    (discovery,) = job["kubernetes_sd_configs"]
    assert discovery["namespaces"]["names"] == [cluster["namespace"]]
    keep = [r for r in job["relabel_configs"] if r.get("action") == "keep"]
    assert any(r["regex"] == cluster["name"] for r in keep)


@pytest.mark.parametrize("folder", [K8S, RABBITMQ], ids=lambda p: p.name)
def test_the_kustomizations_build(folder: Path) -> None:
    """With kubectl's built-in kustomize where it is installed (no cluster needed)."""
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    built = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    objects = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    assert objects
    pods = [obj["spec"]["template"] for obj in objects if obj["kind"] == "Deployment"] + [
        obj["spec"]["jobTemplate"]["spec"]["template"]
        for obj in objects
        if obj["kind"] == "CronJob"
    ]
    images = {container["image"] for pod in pods for container in pod["spec"]["containers"]}
    assert "milie" not in images  # kustomization.yaml's images: entry applied


def test_compose_and_prometheus_read_the_gateways_metrics_apart() -> None:
    (config,) = _docs(DEPLOY / "prometheus" / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "milie"]
    targets = {
        static["labels"]["service"]: target
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {name: f"{name}:{port}" for name, port in METRICS_PORTS.items()}
    compose = yaml.safe_load((DEPLOY / "container" / "compose.yaml").read_text(encoding="utf-8"))
    gateway = compose["services"]["gateway"]
    assert gateway["environment"]["MILIE_METRICS_PORT"] == str(GATEWAY_METRICS_PORT)
    assert gateway["environment"]["MILIE_METRICS_HOST"] == "0.0.0.0"
    # Published: the public port only.
    assert gateway["ports"] == [f"{PROCESSES['gateway'][1]}:{PROCESSES['gateway'][1]}"]
