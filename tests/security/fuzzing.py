"""The API fuzzer shared by tests/security/test_fuzz.py (a bounded run) and bench/fuzz.py (a long one).

schemathesis generates requests for every operation of the app's own OpenAPI document (positive and negative
data); each one is sent in-process to the ASGI app twice, as generated and with its path ids replaced by ids of
resources that exist (so the handlers behind the 404s are reached too). Every answer must be below 500 and every
4xx must have the shape api.md gives errors: JSON {"detail": str, "code": snake_case} (+ an "errors" list).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Api
from tests.security.support import create_world, fabricate_trained_model
from tests.server.api.support import API, SMALL_CSV, expect

WORLD_KEY = "FUZZ"
VICTIM_KEY = "FUZZVICTIM"
# Operations whose real-id variant would load the model file into Keras: run only where the world has a real one.
LOADS_MODEL = {
    ("POST", "/api/v1/trained-models/{tmid}/predict"),
    ("POST", "/api/v1/saved-models/{saved_model_id}/predict"),
    ("GET", "/api/v1/saved-models/{saved_model_id}/export"),
}
_counter = itertools.count(1)


@asynccontextmanager
async def _no_lifespan(_app: Any) -> AsyncIterator[None]:
    yield


@dataclass
class Finding:
    """One answer that breaks the contract."""

    operation: str
    variant: str
    status: int
    problem: str
    request: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.variant}] -> {self.status}: {self.problem}\n    {self.request}"


@dataclass
class Report:
    """What a fuzzing run did and found."""

    requests: int = 0
    operations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def distinct(self) -> list[Finding]:
        """One finding per (operation, status, problem)."""
        seen: dict[tuple[str, int, str], Finding] = {}
        for f in self.findings:
            seen.setdefault((f.operation, f.status, f.problem[:120]), f)
        return list(seen.values())


def error_shape_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why an answer breaks api.md's error contract, or None when it keeps it."""
    import json
    import re

    if status >= 500:
        return f"server error {status}: {body[:300]!r}"
    if status < 400:
        return None
    if not content_type.startswith("application/json"):
        return f"error body is not JSON ({content_type!r}): {body[:200]!r}"
    try:
        doc = json.loads(body)
    except ValueError:
        return f"error body does not parse as JSON: {body[:200]!r}"
    if not isinstance(doc, dict) or set(doc) not in ({"detail", "code"}, {"detail", "code", "errors"}):
        return f"error body keys are not detail/code(/errors): {doc!r:.300}"
    if not isinstance(doc["detail"], str) or not doc["detail"].strip():
        return f"detail is not a sentence: {doc!r:.300}"
    if not isinstance(doc["code"], str) or not re.match(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", doc["code"]):
        return f"code is not snake_case: {doc!r:.300}"
    if "errors" in doc:
        errs = doc["errors"]
        if not isinstance(errs, list) or not errs:
            return f"errors is not a non-empty list: {doc!r:.300}"
        for item in errs:
            if (
                not isinstance(item, dict)
                or not ({"field", "cell"} & set(item))
                or not isinstance(item.get("message"), str)
            ):
                return f"an errors item lacks field/cell or message: {item!r:.300}"
    return None


class FuzzWorld:
    """The resources the fuzzer's real ids point at, and the caller (a member of the project with ROLE).

    Destructive operations get victims (a spare project, dataset, trained model, saved model version, token)
    that are made again whenever a call removed them, so the rest of the run keeps its world.
    """

    def __init__(self, api: Api, role: str = "writer", real_keras: bool = False):
        self.api = api
        self.role = role
        self.real_keras = real_keras
        self.world = create_world(api, WORLD_KEY)
        self.token = api.user(f"fz_{role}", WORLD_KEY, role)
        api.user("fz_extra", WORLD_KEY, "reader")
        self.tmid = fabricate_trained_model(api, self.world["mt"], real_keras=real_keras)
        deployed = expect(api.post(f"{API}/trained-models/{self.tmid}/deploy", json={"saved_model_name": "main"}), 201)
        self.saved_id = deployed["saved_model_id"]
        self.version_id = deployed["version_id"]
        self.victims: dict[str, Any] = {}
        self.restore()

    # Victims ------------------------------------------------------------------------------------------------

    def _exists(self, path: str) -> bool:
        return self.api.get(API + path).status_code == 200

    def restore(self) -> None:
        """Make again every victim a call removed."""
        api, v = self.api, self.victims
        if "key" not in v or not self._exists(f"/projects/{v['key']}"):
            v["key"] = f"{VICTIM_KEY}{next(_counter)}"
            expect(api.post(f"{API}/projects", json={"key": v["key"], "name": "victim"}), 201)
            expect(api.put(f"{API}/projects/{v['key']}/members/fz_{self.role}", json={"role": self.role}), 200)
        if "ds" not in v or not self._exists(f"/datasets/{v['ds']}"):
            name = f"victim{next(_counter)}"
            v["ds"] = expect(api.upload_csv(WORLD_KEY, name, SMALL_CSV, "victim.csv"), 201)["id"]
        if "tmid" not in v or not self._exists(f"/trained-models/{v['tmid']}"):
            v["tmid"] = fabricate_trained_model(api, self.world["mt"], real_keras=False)
        if "saved_id" not in v or not self._exists(f"/saved-models/{v['saved_id']}"):
            name = f"victim{next(_counter)}"
            body = {"saved_model_name": name, "version_id": "v1"}
            v["saved_id"] = expect(api.post(f"{API}/trained-models/{self.tmid}/deploy", json=body), 201)[
                "saved_model_id"
            ]
        saved = expect(api.get(f"{API}/saved-models/{v['saved_id']}"), 200)
        if not any(not ver["active"] for ver in saved["versions"]):
            body = {"saved_model_id": v["saved_id"], "version_id": f"old{next(_counter)}", "activate": False}
            expect(api.post(f"{API}/trained-models/{self.tmid}/deploy", json=body), 201)
            saved = expect(api.get(f"{API}/saved-models/{v['saved_id']}"), 200)
        v["version_id"] = next(ver["id"] for ver in saved["versions"] if not ver["active"])
        tokens = expect(api.get(f"{API}/tokens", token=self.token), 200)
        live = [t["id"] for t in tokens if not t["revoked"] and t["name"] == "victim"]
        if live:
            v["token_id"] = live[0]
        else:
            from server.db import session_scope
            from server.models import ApiToken
            from server.services import auth

            with session_scope() as db:
                user = auth.get_user(db, f"fz_{self.role}")
                assert user is not None
                auth.create_token(db, user, "victim")
                row = db.query(ApiToken).filter(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()).first()
                assert row is not None
                v["token_id"] = row.id

    # Path values ----------------------------------------------------------------------------------------------

    def values(self, method: str, path: str) -> dict[str, Any]:
        """Real values for the path parameters of METHOD PATH (victims for destructive calls)."""
        w, v = self.world, self.victims
        destructive = method == "DELETE"
        return {
            "key": v["key"] if destructive and path == "/api/v1/projects/{key}" else w["key"],
            "username": "fz_extra",
            "dataset_id": v["ds"] if destructive else w["ds"],
            "analysis_id": w["an"],
            "mltask_id": w["mt"],
            "number": w["n"],
            "session_id": w["sid"],
            "tmid": v["tmid"] if destructive else self.tmid,
            "saved_model_id": v["saved_id"] if destructive else self.saved_id,
            "version_id": v["version_id"] if destructive else self.version_id,
            "token_id": v["token_id"],
        }

    def after(self, method: str, path: str, status: int, body: bytes) -> None:
        """Put the world back after a call that changed it."""
        import json

        if method == "POST" and path.endswith("/train") and status == 202:
            session_id = json.loads(body)["id"]
            self.api.post(f"{API}/sessions/{session_id}/abort")  # no worker here: never leave one queued
        if method == "DELETE" and status < 300:
            self.restore()


_FREE = {"title", "description"}


def negative_possible(raw: dict[str, Any]) -> bool:
    """Whether an operation has something to make invalid: a constrained parameter, a query or header, a typed body.

    (An operation whose only inputs are unconstrained path strings has no invalid input; asking schemathesis for
    one makes Hypothesis search for seconds before it gives up.)
    """
    for param in raw.get("parameters", []):
        if param.get("in") != "path" or set(param.get("schema", {})) - _FREE - {"type"}:
            return True
        if param.get("schema", {}).get("type") not in (None, "string"):
            return True
    for media in (raw.get("requestBody") or {}).get("content", {}).values():
        if set(media.get("schema", {})) - _FREE:
            return True
    return False


def make_schema(api: Api) -> Any:
    """The schemathesis schema of API's app, calling it in-process (no lifespan: no background threads)."""
    import schemathesis

    app = api.client.app
    app.router.lifespan_context = _no_lifespan
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _send(world: FuzzWorld, op: Any, mode: Any, case: Any, headers: dict[str, str], report: Report) -> int:
    """Send CASE as generated and (where it may) with real path ids; record what broke the contract."""
    method, path = op.method.upper(), op.path
    name = f"{method} {path}"
    variants = [("generated", dict(case.path_parameters or {}))]
    if op.path_parameters and (world.real_keras or (method, path) not in LOADS_MODEL):
        real = world.values(method, path)
        variants.append(("real ids", {k: real[k] for k in (case.path_parameters or {}) if k in real}))
    for variant, params in variants:
        if case.path_parameters is not None:
            case.path_parameters.update(params)
        where = f"{mode.value}, {variant}"
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised: the client saw a 500
            report.statuses[500] += 1
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            report.findings.append(
                Finding(name, where, 500, f"unhandled {type(exc).__name__}: {first}", _describe(case))
            )
            continue
        report.statuses[response.status_code] += 1
        content_type = response.headers.get("content-type", [""])[0]
        # /readyz answers 503 "not_ready" by design while no worker is live (none runs during the fuzzing).
        readiness = path == "/readyz" and response.status_code == 503
        problem = None if readiness else error_shape_problem(response.status_code, content_type, response.content)
        if problem:
            report.findings.append(Finding(name, where, response.status_code, problem, _describe(case)))
        world.after(method, path, response.status_code, response.content)
    return len(variants)


def _fuzz_operation(
    world: FuzzWorld, op: Any, mode: Any, max_examples: int, seed: int, headers: dict[str, str], report: Report
) -> int:
    """Run MAX_EXAMPLES cases of OP in generation MODE; returns how many requests were sent."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable

    sent = 0

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis_seed(seed)
    @given(case=op.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        nonlocal sent
        sent += _send(world, op, mode, case, headers, report)

    try:
        one()
    except Unsatisfiable:
        pass  # nothing to generate in this mode (e.g. no parameters to make invalid)
    return sent


def run(
    world: FuzzWorld,
    max_examples: int,
    seed: int = 1337,
    operations: list[str] | None = None,
    budget_s: float | None = None,
    log: Any = None,
) -> Report:
    """Fuzz every operation (or those named METHOD PATH in OPERATIONS) with MAX_EXAMPLES per generation mode."""
    from schemathesis import GenerationMode

    schema = make_schema(world.api)
    report = Report()
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {world.token}"}
    for result in schema.get_all_operations():
        op = result.ok()
        name = f"{op.method.upper()} {op.path}"
        report.operations.append(name)
        if operations and name not in operations:
            continue
        if budget_s is not None and time.monotonic() - started > budget_s:
            break
        op_started = time.monotonic()
        modes = [GenerationMode.POSITIVE]
        if negative_possible(op.definition.raw):
            modes.append(GenerationMode.NEGATIVE)
        sent = sum(_fuzz_operation(world, op, mode, max_examples, seed, headers, report) for mode in modes)
        report.requests += sent
        report.per_operation[name] = sent
        if log:
            log(f"{name}: {sent} requests in {time.monotonic() - op_started:.1f}s")
    report.seconds = time.monotonic() - started
    return report


def _describe(case: Any) -> str:
    """A short, printable description of the request CASE sends."""
    parts = [f"{case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r:.200}")
    if case.body is not None and not isinstance(case.body, type(None)):
        parts.append(f"body={case.body!r:.300}")
    return " ".join(parts)


def summary(report: Report) -> str:
    """A text summary of REPORT."""
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(report.statuses.items()))
    lines = [
        f"{report.requests} requests to {len(report.per_operation)} operations in {report.seconds:.1f}s",
        f"statuses: {statuses}",
        f"findings: {len(report.findings)} ({len(report.distinct())} distinct)",
    ]
    lines += [str(f) for f in report.distinct()]
    return "\n".join(lines)
