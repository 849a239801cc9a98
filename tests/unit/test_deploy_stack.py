"""The stack configs in deploy/: the systemd unit's settings, prometheus.yml and its flags,
docker-compose.yml (parsed: Docker does not run here) and the Dockerfile's inputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, program, run_program

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
COMPOSE_HA = DEPLOY / "docker-compose.ha.yml"  # over COMPOSE, on each server of the HA layout
MIN_RETENTION_DAYS = 35


def days(duration: str) -> float:
    units = {"d": 1, "w": 7, "y": 365, "h": 1 / 24}
    match = re.fullmatch(r"(\d+)([dwyh])", duration)
    assert match, duration
    return int(match.group(1)) * units[match.group(2)]


# --- systemd unit -------------------------------------------------------------------------

def unit_settings(path: Path) -> dict[str, list[str]]:
    """Key -> values (repeated keys kept) of a unit file."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_has_what_the_issue_asks() -> None:
    unit = unit_settings(DEPLOY / "systemd/netwatch.service")
    one = {key: values[-1] for key, values in unit.items()}
    assert one["Type"] == "notify" and one["NotifyAccess"] == "main"
    assert one["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert one["Restart"] == "on-failure"
    assert one["DynamicUser"] == "yes"
    assert re.fullmatch(r"\d+s", one["WatchdogSec"])
    assert one["AmbientCapabilities"] == "CAP_NET_RAW"
    assert one["CapabilityBoundingSet"] == "CAP_NET_RAW"
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "NoNewPrivileges": "yes"}.items():
        assert one[key] == value, key
    assert "@system-service" in unit["SystemCallFilter"]
    assert set(one["RestrictAddressFamilies"].split()) <= {"AF_INET", "AF_INET6", "AF_UNIX",
                                                          "AF_NETLINK"}
    assert one["ExecStart"].endswith("-m netwatch run /etc/netwatch/netwatch.yml "
                                     "--web.config.file /etc/netwatch/web.yml")
    assert "--web.enable-lifecycle" not in one["ExecStart"]  # reloads go through SIGHUP


def test_the_shipped_web_config_is_valid_and_empty() -> None:
    from netwatch.web.webconfig import read_web_config

    settings = read_web_config(DEPLOY / "web.yml")  # plain HTTP on loopback until filled in
    assert settings.ssl_context is None and settings.users == {}


# --- Prometheus ---------------------------------------------------------------------------

def test_prometheus_config_passes_promtool(promtool: str) -> None:
    config = DEPLOY / "prometheus/prometheus.yml"
    proc = run_program(promtool, "check", "config", config, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = sorted((DEPLOY / "prometheus/rules").glob("*.yml"))
    if rules:  # the rule files load with the config: all of them, each by name
        assert f"SUCCESS: {len(rules)} rule files found" in proc.stdout
        for rule in rules:
            assert f"Checking {config.parent}/rules/{rule.name}" in proc.stdout or \
                f"rules/{rule.name}" in proc.stdout


def test_prometheus_config_contract() -> None:
    data = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in data["scrape_configs"]}
    assert "netwatch" in jobs, "the rules select job=\"netwatch\""
    assert data["rule_files"] == ["rules/*.yml"]
    targets = data["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:9093"]
    # the pair's label, not `replica` (netwatch twins' label): alerts arrive without it
    assert "prometheus_replica" in data["global"]["external_labels"]
    assert "replica" not in data["global"]["external_labels"]
    assert drops(data["alerting"]["alert_relabel_configs"]) == {"prometheus_replica"}
    assert "storage" not in data, "retention is a flag in Prometheus 2.42"


def drops(relabel_configs: list[dict[str, Any]]) -> set[str]:
    """Label names a relabel list drops (labeldrop with a plain name regex), and nothing else
    may be in the list."""
    assert all(c["action"] == "labeldrop" for c in relabel_configs), relabel_configs
    return {c["regex"] for c in relabel_configs}


# --- high availability: the Prometheus pair, the Alertmanager cluster, VictoriaMetrics -------

HA = DEPLOY / "prometheus/prometheus-ha.yml"


def test_ha_prometheus_config_passes_promtool(promtool: str) -> None:
    proc = run_program(promtool, "check", "config", HA, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = sorted((DEPLOY / "prometheus/rules").glob("*.yml"))
    assert f"SUCCESS: {len(rules)} rule files found" in proc.stdout


def test_ha_prometheus_config_keeps_twins_apart_and_the_pair_together() -> None:
    ha = yaml.safe_load(HA.read_text())
    one = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    # the same rules, intervals and city as one server; its own pair label
    assert ha["rule_files"] == one["rule_files"]
    assert ha["global"]["scrape_interval"] == one["global"]["scrape_interval"]
    assert ha["global"]["external_labels"].keys() == one["global"]["external_labels"].keys()
    # alerts and the long-term store without the pair's label: once each
    assert drops(ha["alerting"]["alert_relabel_configs"]) == {"prometheus_replica"}
    (write,) = ha["remote_write"]
    assert write["url"].endswith("/api/v1/write")
    assert drops(write["write_relabel_configs"]) == {"prometheus_replica"}, \
        "instance and replica must reach the store: the twins' counters are independent"
    # every member of the Alertmanager cluster, two at least
    (managers,) = ha["alerting"]["alertmanagers"]
    assert len(managers["static_configs"][0]["targets"]) >= 2
    # the twins: same job, told apart by replica
    (job,) = [j for j in ha["scrape_configs"] if j["job_name"] == "netwatch"]
    replicas = [c["labels"]["replica"] for c in job["static_configs"]]
    assert sorted(replicas) == ["a", "b"]
    assert all(set(c["labels"]) == {"replica"} and len(c["targets"]) == 1
               for c in job["static_configs"])


def default_args(path: Path) -> list[str]:
    match = re.search(r'^ARGS="([^"]*)"', path.read_text(), re.M)
    assert match, f"{path}: no ARGS= line"
    return match.group(1).split()


def test_alertmanager_cluster_flags_exist_in_debians_alertmanager() -> None:
    args = default_args(DEPLOY / "alertmanager/prometheus-alertmanager.default")
    flags = help_text("prometheus-alertmanager")
    names = [a.split("=", 1)[0] for a in args]
    assert names.count("--cluster.listen-address") == 1 and "--cluster.peer" in names
    for name in names:
        assert f"{name}=" in flags, f"prometheus-alertmanager has no {name}"


def vm_flags() -> set[str]:
    """The flags Debian's victoria-metrics knows (its -help lists them as `  -name type`)."""
    proc = run_program(program("victoria-metrics"), "-help", timeout=30)
    return set(re.findall(r"^\s+-([\w.]+)", proc.stdout + proc.stderr, re.M))


def test_victoriametrics_deduplicates_at_the_scrape_interval() -> None:
    args = dict(a.lstrip("-").split("=", 1)
                for a in default_args(DEPLOY / "victoria-metrics/victoria-metrics.default"))
    one = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    assert args["dedup.minScrapeInterval"] == one["global"]["scrape_interval"]
    assert int(args["retentionPeriod"]) >= 13, "a year back, for the SLA"
    assert set(args) <= vm_flags(), "flags Debian's victoria-metrics does not know"


def test_retention_is_not_a_config_key_in_this_prometheus(promtool: str, tmp_path: Path) -> None:
    # why the flag files exist: 2.42 refuses the key (newer versions accept it)
    config = tmp_path / "prometheus.yml"
    config.write_text("storage: {tsdb: {retention: {time: 40d}}}\n")
    proc = run_program(promtool, "check", "config", config, timeout=60)
    assert proc.returncode != 0 and "retention" in proc.stdout + proc.stderr


def debian_args() -> list[str]:
    text = (DEPLOY / "prometheus/prometheus.default").read_text()
    match = re.search(r'^ARGS="([^"]*)"', text, re.M)
    assert match, "no ARGS= line"
    return match.group(1).split()


def retention_flag(args: list[str]) -> str:
    found = [a.split("=", 1)[1] for a in args if a.startswith("--storage.tsdb.retention.time=")]
    assert len(found) == 1, args
    return found[0]


def test_every_flag_set_keeps_35_days() -> None:
    assert days(retention_flag(debian_args())) >= MIN_RETENTION_DAYS
    for path in (COMPOSE, COMPOSE_HA):
        compose = yaml.safe_load(path.read_text())
        command = compose["services"]["prometheus"]["command"]
        assert days(retention_flag(command)) >= MIN_RETENTION_DAYS, path.name


def help_text(binary: str) -> str:
    proc = run_program(program(binary), "--help", timeout=30)
    return proc.stdout + proc.stderr


def test_flags_exist_in_debian_binaries() -> None:
    for compose in (yaml.safe_load(COMPOSE.read_text()), yaml.safe_load(COMPOSE_HA.read_text())):
        for service, binary in (("prometheus", "prometheus"),
                                ("alertmanager", "prometheus-alertmanager")):
            flags = help_text(binary)
            for arg in compose["services"][service]["command"]:
                flag = arg.split("=", 1)[0]
                assert f"{flag}=" in flags, f"{binary} has no {flag}"
    flags = help_text("prometheus")
    for arg in debian_args():
        assert f"{arg.split('=', 1)[0]}=" in flags


# --- docker compose -----------------------------------------------------------------------

def host_paths(compose: dict[str, Any]) -> list[str]:
    """Every host path the compose file refers to (bind mounts, secrets, build inputs)."""
    paths = []
    named = set(compose.get("volumes") or {})
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source not in named:
                paths.append(source)
        if "build" in service:
            paths.append(service["build"]["context"])
    for secret in (compose.get("secrets") or {}).values():
        paths.append(secret["file"])
    return paths


def test_compose_parses_and_names_the_stack() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    assert set(compose["services"]) == {"netwatch", "prometheus", "alertmanager", "grafana"}
    netwatch = compose["services"]["netwatch"]
    assert netwatch["cap_add"] == ["NET_RAW"] and netwatch["cap_drop"] == ["ALL"]
    assert netwatch["environment"]["CREDENTIALS_DIRECTORY"] == "/run/secrets"
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name}: undeclared secret {secret}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
    grafana_mounts = [v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]]
    assert "/etc/grafana/provisioning" in grafana_mounts


def test_compose_host_paths_exist_or_are_to_be_provided() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    pending = set(compose["x-to-be-provided"])
    missing = []
    for path in host_paths(compose):
        if not (COMPOSE.parent / path).exists() and path not in pending:
            missing.append(path)
    assert not missing, f"mounted but neither present nor listed in x-to-be-provided: {missing}"
    # the list holds no stale entries: each is referenced, and repository paths that now
    # exist may stay listed only if another part generates them
    assert pending <= set(host_paths(compose)) | {p for p in pending if p.startswith("../grafana")}


def test_compose_dockerfile_inputs_exist() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    build = compose["services"]["netwatch"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    assert dockerfile.is_file()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (context / source).exists(), f"Dockerfile copies missing {source}"


def test_compose_mounts_match_what_the_configs_expect() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    am = compose["services"]["alertmanager"]
    mounted = {v.split(":")[1] for v in am["volumes"]}
    am_config = (DEPLOY / "alertmanager/alertmanager.yml")
    if am_config.exists():
        # every file alertmanager.yml reads by absolute path is mounted into the container
        for path in re.findall(r"^\s*[a-z_]*_file:\s*(/\S+)", am_config.read_text(), re.M):
            assert path in mounted, f"alertmanager.yml reads {path}, compose does not mount it"
    prom = compose["services"]["prometheus"]
    assert "/etc/prometheus/rules" in {v.split(":")[1] for v in prom["volumes"]}
    provisioning = ROOT / "grafana/provisioning"
    grafana_mounts = {v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]}
    for provider_file in sorted(provisioning.glob("dashboards/*.y*ml")):
        for provider in yaml.safe_load(provider_file.read_text()).get("providers", []):
            path = provider.get("options", {}).get("path", "")
            assert any(path.startswith(m) for m in grafana_mounts), \
                f"{provider_file.name}: dashboards path {path} is not mounted in compose"
    for source_file in sorted(provisioning.glob("datasources/*.y*ml")):
        for source in yaml.safe_load(source_file.read_text()).get("datasources", []):
            if source.get("type") == "prometheus":
                assert re.match(r"https?://(127\.0\.0\.1|localhost):9090", source.get("url", "")), \
                    f"{source_file.name}: with host networking Prometheus is 127.0.0.1:9090"


def test_compose_alertmanager_config_passes_amtool(amtool: str) -> None:
    proc = run_program(amtool, "check-config", DEPLOY / "alertmanager/alertmanager.yml",
                       timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_exposes_no_unauthenticated_port() -> None:
    """Every service listens on loopback only, or asks for a login."""
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    for name in ("prometheus", "alertmanager"):
        listen = [a for a in services[name]["command"] if a.startswith("--web.listen-address=")]
        assert listen and listen[0].split("=", 1)[1].startswith("127.0.0.1:"), name
    netwatch = services["netwatch"]
    command = netwatch["command"]
    assert command[command.index("--web.config.file") + 1] == "/etc/netwatch/web.yml"
    assert "./web.yml:/etc/netwatch/web.yml:ro" in netwatch["volumes"]
    listen = yaml.safe_load((DEPLOY / "netwatch.yml").read_text())["listen"]
    assert listen.startswith("127.0.0.1:")
    grafana = services["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in grafana
    assert all("ports" not in service for service in services.values())  # host network only


# --- docker compose, high availability ------------------------------------------------------

def test_compose_ha_overrides_only_services_of_the_stack() -> None:
    base = yaml.safe_load(COMPOSE.read_text())
    ha = yaml.safe_load(COMPOSE_HA.read_text())
    assert set(ha["services"]) - set(base["services"]) == {"victoria-metrics"}
    assert ha["services"]["victoria-metrics"]["profiles"] == ["store"]
    declared = set(base.get("volumes") or {}) | set(ha.get("volumes") or {})
    for name, service in ha["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: undeclared volume {source}"
    pending = set(ha["x-to-be-provided"])
    for path in host_paths({"services": ha["services"], "volumes": declared}):
        assert (COMPOSE.parent / path).exists() or path in pending, path
    # the Alertmanager joins its peer; the peer must be given, never silently empty
    am = ha["services"]["alertmanager"]["command"]
    assert "--cluster.listen-address=0.0.0.0:9094" in am
    assert "--cluster.peer=${ALERTMANAGER_PEER:?the other server's address:9094}" in am
    names = {a.lstrip("-").split("=", 1)[0] for a in ha["services"]["victoria-metrics"]["command"]}
    assert names <= vm_flags(), "flags Debian's victoria-metrics does not know"
    vm_args = dict(a.lstrip("-").split("=", 1)
                   for a in default_args(DEPLOY / "victoria-metrics/victoria-metrics.default"))
    for arg in ha["services"]["victoria-metrics"]["command"]:
        name, value = arg.lstrip("-").split("=", 1)
        if name in ("dedup.minScrapeInterval", "retentionPeriod"):
            assert vm_args[name] == value, f"compose and the Debian defaults differ on -{name}"
