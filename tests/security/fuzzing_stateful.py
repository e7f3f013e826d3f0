"""schemathesis's stateful phase over the app's OpenAPI: sequences of calls chained by the links schemathesis infers
from the schema (a created project's key into the project's routes, a dataset's id into the dataset's routes, …).

Each response must keep the contract the one-call fuzzer checks (fuzzing.error_shape_problem): below 500, and every
4xx JSON {detail, code}. Findings are recorded, not raised, so one run reports all of them.
"""

from __future__ import annotations

import time
from typing import Any

from tests.security.fuzzing import Finding, FuzzWorld, Report, _describe, error_shape_problem, make_schema

SUITES = 5  # at most this many suites, each on its own seed


def link_count(schema: Any) -> int:
    """How many transitions (schemathesis's inferred links) the state machine may follow."""
    machine = schema.as_state_machine()
    return sum(1 for name in dir(machine) if "__" in name and not name.startswith(("_", "RANDOM__")))


def run_stateful(world: FuzzWorld, max_examples: int, steps: int, seed: int, budget_s: float) -> Report:
    """MAX_EXAMPLES scenarios of up to STEPS linked calls each, as the world's caller; stops sending past BUDGET_S."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Flaky

    schema = make_schema(world.api)
    report = Report()
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {world.token}"}
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type, misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def call(self, case: Any, **kwargs: Any) -> Any:
            if time.monotonic() - started > budget_s:  # past the budget: answer locally, send nothing more
                from hypothesis import reject

                reject()
            if case.path_parameters and "key" in case.path_parameters:
                case.path_parameters["key"] = world.world["key"]  # start chains in the caller's project
            return case.call(**kwargs)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            report.requests += 1
            report.statuses[response.status_code] += 1
            name = f"{case.method.upper()} {case.operation.path}"
            report.per_operation[name] = report.per_operation.get(name, 0) + 1
            content_type = response.headers.get("content-type", [""])[0]
            readiness = case.operation.path == "/readyz" and response.status_code == 503
            problem = None if readiness else error_shape_problem(response.status_code, content_type, response.content)
            if problem:
                report.findings.append(Finding(name, "stateful", response.status_code, problem, _describe(case)))
            world.after(case.method.upper(), case.operation.path, response.status_code, response.content)

    configured = settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    # As schemathesis's own stateful phase does: a server's state makes Hypothesis see "flaky" data (a bundle
    # filled in one scenario is empty on a replay), so a suite that trips on that is followed by one on a new seed.
    for suite in range(SUITES):
        if time.monotonic() - started > budget_s:
            break
        try:
            hypothesis.seed(seed + suite)(Machine).run(settings=configured)
            break
        except Flaky:
            continue  # the requests this suite sent were checked already
    report.seconds = time.monotonic() - started
    return report
