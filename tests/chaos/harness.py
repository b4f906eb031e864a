"""What every chaos scenario shares: a client load that records every answer, the checks
of the files' histories, and the figures ``make chaos`` prints at the end."""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from filegate.domain.states import FileState, can_transition
from tests.e2e.flow import auth
from tests.support.images import jpeg_bytes

FINAL = {"ready", "rejected", "expired", "deleted"}


@dataclass
class Figures:
    """Totals across the scenarios of one run (printed by ``tests/chaos/conftest.py``)."""

    files: int = 0
    kills: int = 0
    faults: int = 0
    lost: int = 0
    stuck: int = 0
    double_transitions: int = 0
    repaired_by_reconciler: int = 0
    status_5xx: Counter[int] = field(default_factory=Counter)
    recovery_after_api_crash: list[float] = field(default_factory=list)
    recovery_after_worker_crash: list[float] = field(default_factory=list)
    recovery_after_backend: list[float] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        return [
            f"scenarios: {len(self.scenarios)} ({', '.join(self.scenarios)})",
            f"files: {self.files}  kills: {self.kills}  faults injected: {self.faults}",
            f"lost: {self.lost}  stuck: {self.stuck}  "
            f"double transitions: {self.double_transitions}  "
            f"uploads recorded by the reconciler after a kill: {self.repaired_by_reconciler}",
            "5xx answers: "
            + (", ".join(f"{s}: {n}" for s, n in sorted(self.status_5xx.items())) or "none")
            + f"  (500s: {self.status_5xx[500]})",
            "recovery after an API crash (restart to first accepted upload): "
            + _percentiles(self.recovery_after_api_crash),
            "recovery after a worker crash (kill to every waiting file final): "
            + _percentiles(self.recovery_after_worker_crash),
            "recovery after a backend's return (to first accepted upload): "
            + _percentiles(self.recovery_after_backend),
        ]


FIGURES = Figures()


def _percentiles(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} s, p99 {p99:.1f} s (n={len(ordered)})"


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange of the load: when it started, what it was, how it ended."""

    started: float
    step: str  # "register" or "upload"
    status: int | None  # None: the request itself failed (refused, reset, timed out)
    code: str | None = None
    retry_after: str | None = None
    seconds: float = 0.0


class Load:
    """Registers and uploads small JPEGs one after another in a thread, recording every
    answer and the files whose upload was accepted (a 2xx PUT)."""

    def __init__(self, base_url: str, token: str, client_timeout: float = 30) -> None:
        self.base_url = base_url
        self.answers: list[Answer] = []
        self.accepted: list[str] = []
        self._token = token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._http = httpx.Client(timeout=client_timeout)
        self._count = 0

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._one()
            time.sleep(0.05)

    def _one(self) -> None:
        self._count += 1
        data = jpeg_bytes(32 + self._count % 64, 24)
        body = {
            "filename": f"chaos-{self._count}.jpg",
            "content_type": "image/jpeg",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        file = self._request("register", "POST", f"{self.base_url}/v1/files", json=body)
        if file is None:
            return
        instructions = file["upload"]
        headers = instructions["headers"]
        url, method = instructions["url"], instructions["method"]
        if self._request("upload", method, url, content=data, headers=headers) is not None:
            self.accepted.append(file["id"])

    def _request(self, step: str, method: str, url: str, **kwargs: Any) -> Any | None:
        started = time.monotonic()
        if step == "register":
            kwargs["headers"] = auth(self._token)
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError:
            self.answers.append(Answer(started, step, None, seconds=time.monotonic() - started))
            return None
        code = None
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            code = response.json().get("code")
        retry_after = response.headers.get("retry-after")
        took = time.monotonic() - started
        self.answers.append(Answer(started, step, response.status_code, code, retry_after, took))
        if not response.is_success:
            return None
        return response.json() if step == "register" else {}

    def successes_since(self, moment: float) -> list[Answer]:
        """Successful uploads whose request started at or after ``moment``."""
        return [
            a
            for a in self.answers
            if a.step == "upload" and a.status is not None and a.status < 300
            if a.started >= moment
        ]

    def felt(self, slow: float) -> bool:
        """Whether some request failed, was answered 5xx, or took ``slow`` seconds or more."""
        return any(a.status is None or a.status >= 500 or a.seconds >= slow for a in self.answers)

    def server_errors(self) -> list[Answer]:
        return [a for a in self.answers if a.status is not None and a.status >= 500]


def record_5xx(load: Load) -> None:
    FIGURES.status_5xx.update(a.status for a in load.server_errors() if a.status is not None)


def assert_unavailable_answers_are_well_formed(load: Load) -> None:
    """Every 5xx is a 503 ``UNAVAILABLE`` (507 ``STORAGE_FULL``) with ``Retry-After``."""
    for answer in load.server_errors():
        assert answer.status != 500, f"a 500 during the fault: {answer}"
        if answer.step == "register" or answer.code is not None:
            assert (answer.status, answer.code) in {(503, "UNAVAILABLE"), (507, "STORAGE_FULL")}
            if answer.status == 503:
                assert answer.retry_after is not None, answer


def recovery_seconds(load: Load, returned_at: float, timeout: float = 30) -> float:
    """Seconds from ``returned_at`` until an upload started after it succeeded."""
    deadline = time.monotonic() + timeout
    while not load.successes_since(returned_at):
        assert time.monotonic() < deadline, "no successful upload after the backend returned"
        time.sleep(0.05)
    first = min(a.started for a in load.successes_since(returned_at))
    # The answer's start bounds the recovery from above by less than one request's time.
    return max(0.0, first - returned_at)


def final_states(
    http: httpx.Client, base_url: str, token: str, file_ids: list[str], timeout: float = 90
) -> dict[str, str]:
    """Each file's state once all are final, or when ``timeout`` is up (then some are not)."""
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    pending = list(file_ids)
    while pending and time.monotonic() < deadline:
        file_id = pending[0]
        try:
            response = http.get(
                f"{base_url}/v1/files/{file_id}", params={"wait": 5}, headers=auth(token)
            )
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        if response.status_code == 200:
            states[file_id] = response.json()["state"]
            if states[file_id] in FINAL:
                pending.pop(0)
        else:
            time.sleep(0.5)
    return states


def account(file_ids: list[str], states: dict[str, str]) -> tuple[int, int, int]:
    """(lost, stuck, rejected) among the accepted files, added to the figures."""
    lost = sum(1 for f in file_ids if f not in states)
    stuck = sum(1 for f in file_ids if f in states and states[f] not in FINAL)
    rejected = sum(1 for f in file_ids if states.get(f) == "rejected")
    FIGURES.files += len(file_ids)
    FIGURES.lost += lost
    FIGURES.stuck += stuck
    return lost, stuck, rejected


def history_faults(database_url: str, file_ids: list[str]) -> list[str]:
    """Files whose history has two transitions into one final state, or an illegal step
    (a transition not allowed from the state the previous one reached); added to figures."""
    sync_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT file_id, from_state, to_state FROM file_transitions ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    wanted = set(file_ids)
    steps: dict[str, list[tuple[str | None, str]]] = {}
    for file_id, from_state, to_state in rows:
        if file_id in wanted:
            steps.setdefault(file_id, []).append((from_state, to_state))
    faulty = [f for f, history in steps.items() if not _sound(history)]
    FIGURES.double_transitions += len(faulty)
    return faulty


def _sound(history: list[tuple[str | None, str]]) -> bool:
    finals = [to for _, to in history if to in FINAL]
    if len(finals) != len(set(finals)):
        return False
    current: str | None = None
    for from_state, to_state in history:
        if from_state != current:
            return False
        if from_state is not None and not can_transition(
            FileState(from_state), FileState(to_state)
        ):
            return False
        current = to_state
    return True
