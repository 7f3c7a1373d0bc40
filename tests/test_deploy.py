"""The production layout (Dockerfile, docker-compose.yml, deploy/nginx.conf, .env.example,
endpoints.cluster.yml) checked against the code it deploys: the services and their health
checks, the WebSocket paths the hub really serves (found in the code, so that a new or moved
socket fails here until the proxy upgrades it), the settings' real names, and Rasa's Redis
tracker and lock stores.

The last test runs the real Rasa server (.venv-rasa) with endpoints.cluster.yml against the local
Redis (127.0.0.1:6379); it is opt-in (RASA_CLUSTER_TEST=1) because it needs a trained model and
~30-60 s."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.http_limits import RASA_CALL_BYTES
from bot.settings import ENV, ROOT, Settings

COMPOSE = ROOT / "docker-compose.yml"
NGINX = ROOT / "deploy" / "nginx.conf"
CLUSTER_ENDPOINTS = ROOT / "endpoints.cluster.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

SERVICES = {"proxy", "hub1", "hub2", "rasa1", "rasa2", "postgres", "redis"}
HUBS = ("hub1", "hub2")
RASAS = ("rasa1", "rasa2")
# read by the cross-hub event bus and uvicorn, not (yet) by bot/settings.py
HUB_ENV_BEYOND_SETTINGS = {"REDIS_URL", "FORWARDED_ALLOW_IPS"}


# ------------------------------------------------------------------------------------------
# what the code serves
# ------------------------------------------------------------------------------------------


def _python_sources() -> Iterator[Path]:
    for package in ("bot", "channels"):
        yield from (ROOT / package).rglob("*.py")


def websocket_paths() -> set[str]:
    """Every WebSocket route in the hub's code: `@x.websocket("/path")` or
    `add_api_websocket_route("/path", ...)` / `add_websocket_route("/path", ...)`."""
    pattern = re.compile(
        r"""\.(?:websocket|add_api_websocket_route|add_websocket_route)\(\s*["']([^"']+)["']"""
    )
    paths: set[str] = set()
    for source in _python_sources():
        paths.update(pattern.findall(source.read_text(encoding="utf-8")))
    return paths


def app_route(method: str, path: str) -> bool:
    """Whether the hub's code declares this route (`@app.get("/healthz")`, `@api.post(...)`)."""
    pattern = re.compile(rf"""@\w+\.{method}\(\s*["']{re.escape(path)}["']""")
    return any(pattern.search(source.read_text(encoding="utf-8")) for source in _python_sources())


# ------------------------------------------------------------------------------------------
# a small nginx configuration reader (directives and nested blocks)
# ------------------------------------------------------------------------------------------


class Block:
    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.args = args
        self.directives: list[list[str]] = []
        self.blocks: list[Block] = []

    def values(self, name: str) -> list[list[str]]:
        return [d[1:] for d in self.directives if d[0] == name]

    def children(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.name == name]

    def headers(self) -> dict[str, str]:
        return {v[0].lower(): " ".join(v[1:]) for v in self.values("proxy_set_header")}


def parse_nginx(text: str) -> Block:
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"#[^\n]*", "", text))
    root = Block("main", [])
    stack, words = [root], []
    for token in tokens:
        if token == "{":
            block = Block(words[0], words[1:])
            stack[-1].blocks.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        elif token == ";":
            stack[-1].directives.append(words)
            words = []
        else:
            words.append(token.strip("\"'"))
    assert len(stack) == 1 and not words, "unbalanced braces in nginx.conf"
    return root


def nginx_location(server: Block, path: str) -> Block | None:
    """The location nginx picks for `path`: an exact match, else the longest prefix (the
    layout uses no regex locations, checked below)."""
    prefix: Block | None = None
    for location in server.children("location"):
        if location.args[0] == "=":
            if location.args[1] == path:
                return location
        elif path.startswith(location.args[0]):
            if prefix is None or len(location.args[0]) > len(prefix.args[0]):
                prefix = location
    return prefix


def size_bytes(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    last = value[-1].lower()
    return int(value[:-1]) * units[last] if last in units else int(value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nginx() -> Block:
    return parse_nginx(NGINX.read_text(encoding="utf-8"))


def http_block(nginx: Block) -> Block:
    (http,) = nginx.children("http")
    return http


def server_listening(nginx: Block, port: str) -> Block:
    for server in http_block(nginx).children("server"):
        if any(v[0] == port for v in server.values("listen")):
            return server
    raise AssertionError(f"no server listens on {port} in {NGINX.name}")


# ------------------------------------------------------------------------------------------
# docker-compose.yml
# ------------------------------------------------------------------------------------------


def test_compose_has_the_services_each_with_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert SERVICES <= set(services)
    for name in SERVICES:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
    for hub in HUBS:
        assert services[hub]["build"]["target"] == "hub"
        assert any("/healthz" in part for part in services[hub]["healthcheck"]["test"])
    assert app_route("get", "/healthz"), "the hub no longer serves /healthz"
    for rasa in RASAS:
        assert services[rasa]["build"]["target"] == "rasa"
    # the proxy waits for healthy hubs and Rasa, the second hub for the first (migrations)
    assert services["proxy"]["depends_on"]["hub1"]["condition"] == "service_healthy"
    assert services["hub2"]["depends_on"]["hub1"]["condition"] == "service_healthy"
    for name in (*HUBS, *RASAS):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_hub_environment_uses_the_real_setting_names(compose: dict[str, Any]) -> None:
    for hub in HUBS:
        env = compose["services"][hub]["environment"]
        unknown = set(env) - set(ENV) - HUB_ENV_BEYOND_SETTINGS
        assert not unknown, f"{hub} sets variables bot/settings.py does not read: {unknown}"
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://") and "@redis:6379" in env["REDIS_URL"]
        assert env["RASA_MANAGED"] == "false"
        # the hubs reach Rasa through the proxy's internal port, which balances rasa1/rasa2
        assert env["RASA_URL"] == "http://proxy:5005"
        assert Settings(rasa_url=env["RASA_URL"]).rasa_port == 5005
        for secret in ("RASA_TOKEN", "ACTION_TOKEN"):
            assert env[secret].startswith("${" + secret)
        assert env["SUPPORTBOT_PORT"] == "8000" and env["SUPPORTBOT_HOST"] == "0.0.0.0"


def test_compose_volumes_for_postgres_and_the_knowledge_base(compose: dict[str, Any]) -> None:
    services, volumes = compose["services"], set(compose["volumes"])
    postgres = [v.split(":") for v in services["postgres"]["volumes"]]
    assert any(dest == "/var/lib/postgresql/data" and src in volumes for src, dest, *_ in postgres)
    index_volumes = set()
    for hub in HUBS:
        mounts = {dest: src for src, dest, *_ in (v.split(":") for v in services[hub]["volumes"])}
        # in the image the project is /app, so the default KB_INDEX_DIR is /app/var/kb-index
        assert Settings().index_dir == ROOT / "var" / "kb-index"
        assert mounts["/app/var/kb-index"] in volumes
        assert mounts["/app/knowledge_base/articles"] == "kb-articles"  # shared
        index_volumes.add(mounts["/app/var/kb-index"])
    assert len(index_volumes) == len(HUBS), "each hub keeps its own index"


def test_compose_rasa_uses_the_cluster_endpoints_through_the_proxy(
    compose: dict[str, Any],
) -> None:
    text = re.sub(r"#[^\n]*", "", CLUSTER_ENDPOINTS.read_text(encoding="utf-8"))
    needed = set(re.findall(r"\$\{(\w+)\}", text))  # what Rasa substitutes at start
    assert needed >= {"REDIS_HOST", "ACTION_ENDPOINT_URL", "ACTION_TOKEN"}
    for rasa in RASAS:
        service = compose["services"][rasa]
        assert "--endpoints endpoints.cluster.yml" in service["command"]
        assert "--enable-api" in service["command"] and "RASA_TOKEN" in service["command"]
        env = service["environment"]
        assert needed <= set(env), f"{rasa} lacks {needed - set(env)}"
        assert env["REDIS_HOST"] == "redis"
        # Rasa calls the actions on the hubs' /webhook behind the load balancer
        assert env["ACTION_ENDPOINT_URL"] == "http://proxy/webhook"
    assert app_route("post", "/webhook"), "the hub no longer serves Rasa's /webhook"


def test_compose_publishes_only_the_proxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert [p.split(":")[-1] for p in services["proxy"]["ports"]] == ["80"]
    assert all("ports" not in services[name] for name in SERVICES - {"proxy"})
    mounts = [v.split(":") for v in services["proxy"]["volumes"]]
    assert ["./deploy/nginx.conf", "/etc/nginx/nginx.conf", "ro"] in mounts


def test_every_compose_variable_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    )
    assert used <= documented, f"not in .env.example: {used - documented}"
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "RASA_TOKEN", "ACTION_TOKEN"} <= used
    # every setting the example names is one bot/settings.py reads (or a compose variable)
    assert documented - set(ENV) - used - HUB_ENV_BEYOND_SETTINGS == set()


# ------------------------------------------------------------------------------------------
# deploy/nginx.conf
# ------------------------------------------------------------------------------------------


def test_the_code_serves_the_websockets_we_expect_to_find() -> None:
    # a guard on the search itself: these two exist today (channels/web.py,
    # bot/console/agent_api.py)
    assert {"/ws", "/api/agent/ws"} <= websocket_paths()


@pytest.mark.parametrize("path", sorted(websocket_paths()))
def test_proxy_upgrades_every_websocket_path_the_code_serves(nginx: Block, path: str) -> None:
    http = http_block(nginx)
    (upgrade_map,) = [
        m for m in http.children("map") if m.args == ["$http_upgrade", "$connection_upgrade"]
    ]
    assert ["default", "upgrade"] in upgrade_map.directives
    server = server_listening(nginx, "80")
    assert all(
        loc.args[0] in ("=", "^~") or loc.args[0].startswith("/")
        for loc in server.children("location")
    )
    location = nginx_location(server, path)
    assert location is not None, f"nothing in {NGINX.name} routes {path}"
    assert location.values("proxy_pass") == [["http://hubs"]]
    # proxy_set_header in a location replaces the server's: take the one nginx uses
    headers = location.headers() or server.headers()
    assert headers.get("upgrade") == "$http_upgrade", f"{path} is not upgraded"
    assert headers.get("connection") == "$connection_upgrade", f"{path} is not upgraded"
    assert headers.get("host") == "$http_host"  # the console socket compares Origin and Host
    version = location.values("proxy_http_version") or server.values("proxy_http_version")
    assert version == [["1.1"]]
    # an idle chat or console stays open longer than nginx's default 60 s
    timeout = location.values("proxy_read_timeout")
    assert timeout and timeout[0][0] in {"1h", "3600s", "3600"}


def test_proxy_balances_the_hubs_and_the_rasa_servers(nginx: Block) -> None:
    upstreams = {u.args[0]: u for u in http_block(nginx).children("upstream")}
    hubs = [v[0] for v in upstreams["hubs"].values("server")]
    rasas = [v[0] for v in upstreams["rasa"].values("server")]
    assert hubs == [f"{hub}:8000" for hub in HUBS]
    assert rasas == [f"{rasa}:5005" for rasa in RASAS]
    assert nginx_location(server_listening(nginx, "5005"), "/webhooks/rest/webhook") is not None
    assert server_listening(nginx, "5005").children("location")[0].values("proxy_pass") == [
        ["http://rasa"]
    ]


def test_proxy_body_limits_match_the_hub(nginx: Block) -> None:
    server = server_listening(nginx, "80")
    (limit,) = server.values("client_max_body_size")
    assert size_bytes(limit[0]) >= Settings().max_body_bytes
    webhook = nginx_location(server, "/webhook")
    assert webhook is not None and webhook.args == ["=", "/webhook"]
    (rasa_limit,) = webhook.values("client_max_body_size")
    assert size_bytes(rasa_limit[0]) >= RASA_CALL_BYTES  # Rasa's calls carry tracker + domain


# ------------------------------------------------------------------------------------------
# endpoints.cluster.yml, Dockerfile, .dockerignore
# ------------------------------------------------------------------------------------------


def test_cluster_endpoints_use_redis_tracker_and_lock_stores() -> None:
    endpoints = yaml.safe_load(CLUSTER_ENDPOINTS.read_text(encoding="utf-8"))
    tracker, lock = endpoints["tracker_store"], endpoints["lock_store"]
    assert tracker["type"] == "redis"
    assert lock["type"] == "redis"  # Rasa 3.6 compares it case-sensitively: RedisLockStore
    for store in (tracker, lock):
        assert store["url"] == "${REDIS_HOST}"
        assert store["port"] == "${REDIS_PORT}"
        assert store["password"] == "${REDIS_PASSWORD}"
        assert str(store["key_prefix"]).isalnum()  # Rasa ignores a prefix that is not
    assert tracker["db"] != lock["db"]
    action = endpoints["action_endpoint"]
    assert action["url"] == "${ACTION_ENDPOINT_URL}"
    assert action["headers"]["Authorization"] == "Bearer ${ACTION_TOKEN}"


def test_cluster_endpoint_variables_are_plain_yaml_values() -> None:
    """Rasa substitutes ${VAR} through an implicit YAML resolver, which skips quoted values: a
    quoted "${REDIS_PORT}" reaches RedisLockStore as that text and Rasa fails to start."""

    def scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
        if isinstance(node, yaml.ScalarNode):
            yield node
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                yield from scalars(key)
                yield from scalars(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                yield from scalars(item)

    root = yaml.compose(CLUSTER_ENDPOINTS.read_text(encoding="utf-8"))
    with_variables = [n for n in scalars(root) if "${" in n.value]
    assert len(with_variables) == 8
    quoted = [n.value for n in with_variables if n.style is not None]
    assert not quoted, f"quoted, so Rasa would not substitute them: {quoted}"


def test_the_embedded_default_endpoints_are_unchanged() -> None:
    """`make run` keeps SQLite and one Rasa: endpoints.yml has no Redis and no lock store."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert endpoints["tracker_store"]["type"] == "SQL"
    assert "lock_store" not in endpoints


def test_dockerfile_targets_and_pins() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM \$\{HUB_BASE\} AS hub$", text, re.M)
    assert re.search(r"^FROM \$\{RASA_BASE\} AS rasa$", text, re.M)
    assert "ARG HUB_BASE=python:3.11-slim" in text and "ARG RASA_BASE=python:3.10-slim" in text
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (torch,) = re.findall(r'"(torch==[^"]+)"', pyproject)
    assert f'pip install --index-url "${{TORCH_INDEX_URL}}" {torch}' in text
    (rasa_version,) = re.findall(
        r"^RASA_VERSION := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M
    )
    assert f"pip install rasa=={rasa_version}" in text
    assert "rasa train" in text and "supportbot kb index" in text
    ignored = DOCKERIGNORE.read_text(encoding="utf-8").split()
    assert {".git", ".venv", ".venv-*", "var/", ".env"} <= set(ignored)


# ------------------------------------------------------------------------------------------
# the real Rasa with endpoints.cluster.yml against the local Redis (opt-in)
# ------------------------------------------------------------------------------------------


class _ActionCalls(BaseHTTPRequestHandler):
    """Where Rasa's action calls land in this test: it records them and answers like an action
    server with no events (the hub's real /webhook is exercised by the e2e tests)."""

    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.calls.append(
            {"path": self.path, "auth": self.headers.get("authorization"), "body": json.loads(body)}
        )
        answer = json.dumps({"events": [], "responses": [{"text": "from the recorder"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.skipif(
    os.environ.get("RASA_CLUSTER_TEST") != "1", reason="opt-in: RASA_CLUSTER_TEST=1"
)
def test_real_rasa_keeps_trackers_and_locks_in_redis(
    base_settings: Settings, tmp_path: Path
) -> None:
    redis = pytest.importorskip("redis")
    from tests.conftest import free_port

    rasa = base_settings.rasa_venv / "bin" / "rasa"
    models = Path(os.environ.get("RASA_CLUSTER_MODEL_DIR", base_settings.models_dir))
    model = max(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, default=None)
    if not rasa.exists() or model is None:
        pytest.skip("needs .venv-rasa and a trained model (make train)")
    red = redis.Redis(host="127.0.0.1", port=6379, db=0, decode_responses=True)
    try:
        red.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")

    recorder = ThreadingHTTPServer(("127.0.0.1", 0), _ActionCalls)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    port, token, sender = free_port(), uuid.uuid4().hex, f"deploy-test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{recorder.server_port}/webhook",
        "ACTION_TOKEN": token,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": "",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    command = [
        str(rasa), "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(port),
        "--model", str(model), "--endpoints", str(CLUSTER_ENDPOINTS),
        "--credentials", str(ROOT / "credentials.yml"),
    ]  # fmt: skip
    log = tmp_path / "rasa.log"
    monitor_lines: list[str] = []
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("Rasa did not start in 120 s:\n" + log.read_text(errors="replace")[-3000:])

        # every command Redis receives while Rasa answers: the lock store's SETs and DELs
        monitor = redis.Redis(host="127.0.0.1", port=6379).monitor()
        stop = threading.Event()

        def watch() -> None:
            with monitor as m:
                for command in m.listen():
                    monitor_lines.append(str(command.get("command", "")))
                    if stop.is_set():
                        return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        time.sleep(0.3)
        for text in ("hello", "how do I return a damaged item?"):
            reply = httpx.post(
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
            )
            assert reply.status_code == 200, reply.text
        stop.set()
        red.ping()  # wakes the monitor up so that it sees `stop`
        watcher.join(5)

        key = f"supportbot:tracker:{sender}"
        stored = json.loads(red.get(key) or "{}")
        texts = [e.get("text") for e in stored.get("events", []) if e.get("event") == "user"]
        assert texts == ["hello", "how do I return a damaged item?"]
        # the RedisLockStore issued and released this conversation's lock (db 1)
        assert any(f"supportbot:lock:{sender}" in line for line in monitor_lines)
        assert (
            redis.Redis(host="127.0.0.1", port=6379, db=1).exists(f"supportbot:lock:{sender}") == 0
        )
        # the action endpoint's URL and header came from the environment
        assert _ActionCalls.calls, "Rasa called no action"
        assert {call["auth"] for call in _ActionCalls.calls} == {f"Bearer {token}"}
        assert {call["body"]["sender_id"] for call in _ActionCalls.calls} == {sender}
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        recorder.shutdown()
        red.delete(f"supportbot:tracker:{sender}")
