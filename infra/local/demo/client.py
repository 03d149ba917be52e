"""The platform's public interfaces as the loader uses them: the gateway's HTTP API (``Api``: retries,
idempotency keys, outcomes), the district inbound topics (``Topics``) and a progress bar per phase."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime
from typing import Any

from infra.local.demo.draws import iso
from services.common.base.contracts import latest_inbound_version
from services.common.kernel.clock import CHINA_STANDARD_TIME as CST
from services.common.read.progress import Progress

RETRY_CODES = frozenset({"version_conflict", "service_unavailable", "unknown_agency", "idle_stock_check_required"})
"""Refusals that pass: a lost concurrency race, a service restarting, an agency or an authorisation not yet
known to the service that needs it (``idle_stock_check_required``: procurement has not yet received the
assets service's purchase authorisation; events are eventually consistent)."""


EXISTS_CODES = frozenset({"already_exists", "duplicate_command"})
"""Answers to a command already done: on a re-run they are the expected answer."""


class Phase:
    """A progress bar for the commands of one phase, safe to advance from worker threads."""

    def __init__(self, label: str, total: int | None) -> None:
        self.progress = Progress(f"{label:<22}", total)
        self.lock = threading.Lock()

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more done."""
        with self.lock:
            self.progress.advance(count)

    def finish(self) -> dict[str, Any]:
        """The final line and the summary."""
        with self.lock:
            return self.progress.finish()


class Api:
    """The gateway's HTTP API: one keep-alive connection per thread, retries, idempotency keys, outcomes."""

    def __init__(self, gateway: str, token: str, seed: int, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(gateway)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base = parts.path.rstrip("/") + "/api/v1"
        self.token, self.seed, self.timeout = token, seed, timeout
        self.local = threading.local()
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.refusals: Counter[tuple[str, str]] = Counter()
        self.examples: list[str] = []
        self.phase: Phase | None = None

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return conn

    def _reset(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
        self.local.conn = None

    def raw(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request (reconnecting once on a dropped keep-alive connection); OSError when unreachable."""
        send = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})}
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=send)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self._reset()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        """A query; None when it is not answered with 200."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        for attempt in range(6):
            try:
                status, raw = self.raw("GET", self.base + path + (f"?{query}" if query else ""))
            except OSError:
                time.sleep(1 + attempt)
                continue
            if status == 200:
                return json.loads(raw)
            if status not in (502, 503, 504):
                return None
            time.sleep(1 + attempt)
        return None

    def key(self, name: str, ident: str) -> str:
        """The Idempotency-Key of a command: the same on every run with the same seed."""
        key = f"demo{self.seed}.{name}.{ident}"
        return key if len(key) <= 100 else f"demo{self.seed}.{hashlib.sha256(key.encode()).hexdigest()[:40]}"

    def post(self, name: str, path: str, body: dict[str, Any], ident: str) -> dict[str, Any] | None:
        """A command with its Idempotency-Key; retried while the refusal passes. None when refused for good."""
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Idempotency-Key": self.key(name, ident)}
        started = time.monotonic()
        attempt = 0
        answer: Any = None
        while True:
            attempt += 1
            try:
                status, raw = self.raw("POST", self.base + path, data, headers)
                answer = decoded(raw)
            except OSError as exc:
                status, answer = 0, {"error": "unreachable", "message": str(exc)}
            code = answer.get("error") if isinstance(answer, dict) else None
            if 200 <= status < 300:
                return self._done("ok", answer)
            if code in EXISTS_CODES:
                return self._done("exists", answer)
            passing = status in (0, 502, 503, 504) or code in RETRY_CODES
            if passing and time.monotonic() - started < 180 and attempt < 40:
                time.sleep(min(8.0, 0.25 * 2 ** min(attempt, 5)))
                continue
            with self.lock:
                self.refusals[(name, str(code or status))] += 1
                if len(self.examples) < 12:
                    self.examples.append(f"{name} {path}: {status} {json.dumps(answer, ensure_ascii=False)[:300]}")
            self._done("refused", None)
            return None

    def _done(self, outcome: str, answer: Any) -> dict[str, Any]:
        with self.lock:
            self.outcomes[outcome] += 1
        if self.phase is not None:
            self.phase.advance()
        return answer if isinstance(answer, dict) else {}

    def metrics(self) -> str:
        """The gateway's Prometheus text (no token needed)."""
        try:
            status, raw = self.raw("GET", "/metrics")
        except OSError:
            return ""
        return raw.decode(errors="replace") if status == 200 else ""


def decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:300]


_SAMPLE = re.compile(r"^(gov_events_projected_total|gov_dead_lettered_total)\{([^}]*)\}\s+([0-9.eE+]+)$", re.M)


def inbound_counts(text: str) -> tuple[int, Counter[str]]:
    """District messages the gateway handled, and those it refused by reason, since it started."""
    handled, refused = 0, Counter[str]()
    for name, labels, value in _SAMPLE.findall(text):
        tags = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if tags.get("service") != "gateway":
            continue
        if name == "gov_events_projected_total" and tags.get("projector") == "district-inbound":
            handled += int(float(value))
        elif name == "gov_dead_lettered_total" and tags.get("topic", "").endswith(".inbound"):
            refused[tags.get("reason", "?")] += int(float(value))
    return handled, refused


class Topics:
    """The district inbound topics, as a district's systems send to them."""

    def __init__(self, bootstrap: str) -> None:
        from services.common.read.broker import make_producer

        self.producer = make_producer(bootstrap, linger_ms=20, client_id="demo-loader")
        self.sent = 0
        self.pending: list[Any] = []
        self.lock = threading.Lock()  # vehicle histories send GPS tracks from several threads

    def send(self, district: str, message_type: str, message_id: str, payload: dict[str, Any] | str, key: str) -> None:
        """Send one message (``payload`` as a dict, or as JSON text already)."""
        body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        envelope = json.dumps(
            {
                "message_id": message_id,
                "message_type": message_type,
                "schema_version": latest_inbound_version(message_type),
                "district": district,
                "sent_at": iso(datetime.now(CST)),
            },
            ensure_ascii=False,
        )
        value = (envelope[:-1] + ', "payload": ' + body + "}").encode()
        future = self.producer.send(f"district.{district}.inbound", key=key.encode(), value=value)
        with self.lock:
            self.pending.append(future)
            self.sent += 1
            full = len(self.pending) >= 2000
        if full:
            self.flush()

    def flush(self) -> None:
        """Wait until the broker has every message sent so far."""
        self.producer.flush()
        with self.lock:
            pending, self.pending = self.pending, []
        for future in pending:
            future.get(timeout=60)

    def close(self) -> None:
        """Flush and close the producer."""
        self.flush()
        self.producer.close()
