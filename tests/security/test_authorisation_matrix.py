"""Every endpoint × every kind of caller × own or another tenant, with the exact answer.

The matrix is one table (``ROWS``): a new endpoint is added there, in one place, and
``test_every_route_is_in_the_matrix`` fails until it is. Expected answers:

* a status code ("200", "202", "401", "403", "404");
* "seen" / "hidden": a list endpoint answers 200 with / without the seeded item;
* "acked" / "unknown": an acknowledgement reports the id as acknowledged / unknown.

Another tenant's case is invisible (404, "hidden", "unknown"), never merely forbidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from starlette.routing import Mount

from exchange.api.app import create_app
from exchange.settings import REPO_ROOT
from tests.conftest import SHARED
from tests.security.seed import (
    CASE,
    COURT,
    CPS_UNIT,
    FORCE,
    OTHER_COURT,
    OTHER_CPS_UNIT,
    OTHER_FORCE,
    Seeded,
    seed,
)
from tests.support.samples import new_case

pytestmark = pytest.mark.integration

# Every kind of caller: (role, org), or None for no token at all.
CALLERS: dict[str, tuple[str, str | None] | None] = {
    "anonymous": None,
    "police-own": ("police", FORCE),
    "police-other": ("police", OTHER_FORCE),
    "police-national": ("police", None),
    "cps-own": ("cps", CPS_UNIT),
    "cps-other": ("cps", OTHER_CPS_UNIT),
    "cps-national": ("cps", None),
    "court-own": ("court", COURT),
    "court-other": ("court", OTHER_COURT),
    "court-national": ("court", None),
    "ops": ("ops", None),
    "manager": ("manager", None),
}
AGENCIES = ("police", "cps", "court")
XML = {"Content-Type": "application/xml"}
JSON_TYPE = {"Content-Type": "application/json"}
RESULTS = SHARED / "samples" / "bichard-e2e" / "results" / "013-extra-offence-on-pnc.xml"
DECISION = REPO_ROOT / "tests" / "fixtures" / "charging" / "charging-decision-charge.json"


def everyone(answer: str) -> dict[str, str]:
    return dict.fromkeys(CALLERS, answer)


def only(role: str, own: str, other: str, national: str, *, rest: str = "403") -> dict[str, str]:
    """Callers of ``role`` get own/other/national answers; other roles ``rest``; no token 401."""
    expect = dict.fromkeys(CALLERS, rest)
    expect |= {f"{role}-own": own, f"{role}-other": other, f"{role}-national": national}
    expect["anonymous"] = "401"
    return expect


def case_reader(own: str, other: str, national: str) -> dict[str, str]:
    """Every agency sees its own tenant's case, not another's; ops all; manager none."""
    expect = {"anonymous": "401", "ops": "200", "manager": "403"}
    for agency in AGENCIES:
        expect |= {f"{agency}-own": own, f"{agency}-other": other, f"{agency}-national": national}
    return expect


Request = Callable[[Seeded], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's template, as app.routes names it
    request: Request
    expect: dict[str, str]
    item: Callable[[Seeded], str] = lambda _s: ""  # the id a list/ack answer is judged by
    pending: dict[str, str] = field(default_factory=dict)  # caller -> what must be wired

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _get(url: Callable[[Seeded], str]) -> Request:
    return lambda s: (url(s), {})


def _post_json(url: Callable[[Seeded], str], body: Callable[[Seeded], Any]) -> Request:
    return lambda s: (url(s), {"json": body(s)})


def ops_only(ops: str, *, manager: str = "403") -> dict[str, str]:
    """Ops tools: ops get ``ops``; every agency 403 whatever its tenant; no token 401."""
    return {**everyone("403"), "anonymous": "401", "ops": ops, "manager": manager}


NO_FAILURE = 999_999
CHANGE = {"changes": [{"pointer": "/payload/case/court_ou", "value": "B01EF01"}]}


def _post(url: str, body: Callable[[], bytes], headers: dict[str, str]) -> Request:
    return lambda _s: (url, {"content": body(), "headers": headers})


def _ack(agency: str) -> Request:
    def build(s: Seeded) -> tuple[str, dict[str, Any]]:
        target = s.outcome if agency == "police" else s.case_file
        return f"/{agency}/deliveries/ack", {"json": {"message_ids": [str(target)]}}

    return build


def _delivered(agency: str) -> Callable[[Seeded], str]:
    return lambda s: str(s.outcome if agency == "police" else s.case_file)


BODIES: dict[str, tuple[Callable[[], bytes], dict[str, str]]] = {
    "police": (lambda: new_case(CASE), XML),
    "cps": (DECISION.read_bytes, JSON_TYPE),
    "court": (RESULTS.read_bytes, XML),
}

ROWS: list[Row] = [
    Row("GET", "/health/live", _get(lambda _s: "/health/live"), everyone("200")),
    Row("GET", "/health/ready", _get(lambda _s: "/health/ready"), everyone("200")),
    Row("GET", "/openapi.json", _get(lambda _s: "/openapi.json"), everyone("200")),
    Row("GET", "/docs", _get(lambda _s: "/docs"), everyone("200")),
    Row("GET", "/docs/oauth2-redirect", _get(lambda _s: "/docs/oauth2-redirect"), everyone("200")),
    Row("GET", "/redoc", _get(lambda _s: "/redoc"), everyone("200")),
    *(
        Row(
            "POST",
            f"/{agency}/messages",
            _post(f"/{agency}/messages", *BODIES[agency]),
            only(agency, "202", "403" if agency == "police" else "202", "202"),
        )
        for agency in AGENCIES
    ),
    *(
        Row(
            "GET",
            f"/{agency}/deliveries",
            _get(lambda _s, a=agency: f"/{a}/deliveries"),
            only(agency, "seen", "hidden", "seen"),
            item=_delivered(agency),
        )
        for agency in AGENCIES
    ),
    *(
        Row(
            "POST",
            f"/{agency}/deliveries/ack",
            _ack(agency),
            only(agency, "acked", "unknown", "acked"),
            item=_delivered(agency),
        )
        for agency in AGENCIES
    ),
    Row(
        "GET",
        "/messages/{message_id}",
        _get(lambda s: f"/messages/{s.case_file}"),
        case_reader("200", "404", "200"),
    ),
    Row(
        "GET",
        "/documents/{sha256}",
        _get(lambda s: f"/documents/{s.document}"),
        case_reader("200", "404", "200")
        | {"police-own": "403", "police-other": "403", "police-national": "403"},
    ),
    # The ops console's static files and the Prometheus metrics hold no case data.
    Row("GET", "/console", _get(lambda _s: "/console"), everyone("307")),
    Row("GET", "/console/", _get(lambda _s: "/console/"), everyone("200")),
    Row("GET", "/console/{name}", _get(lambda _s: "/console/app.js"), everyone("200")),
    Row("GET", "/metrics", _get(lambda _s: "/metrics"), everyone("200")),
    # Ops tools: ops only; figures also for managers (aggregates, no case data).
    Row("GET", "/ops/messages", _get(lambda _s: f"/ops/messages?case_urn={CASE}"), ops_only("200")),
    Row(
        "GET",
        "/ops/messages/{message_id}",
        _get(lambda s: f"/ops/messages/{s.case_file}"),
        ops_only("200"),
    ),
    Row("GET", "/ops/failures", _get(lambda _s: "/ops/failures"), ops_only("200")),
    Row(
        "GET",
        "/ops/failures/{failure_id}",
        _get(lambda _s: f"/ops/failures/{NO_FAILURE}"),
        ops_only("404"),
    ),
    Row(
        "POST",
        "/ops/replays/dry-run",
        _post_json(lambda _s: "/ops/replays/dry-run", lambda _s: {"failure_ids": [NO_FAILURE]}),
        ops_only("200"),
    ),
    Row(
        "POST",
        "/ops/replays",
        _post_json(
            lambda _s: "/ops/replays",
            lambda _s: {"failure_ids": [NO_FAILURE], "reason": "matrix test"},
        ),
        ops_only("200"),
    ),
    Row(
        "POST",
        "/ops/deliveries/replay",
        _post_json(
            lambda _s: "/ops/deliveries/replay",
            lambda s: {"message_id": str(s.case_file), "destination": "cps", "reason": "matrix"},
        ),
        ops_only("200"),
    ),
    Row(
        "POST",
        "/ops/failures/{failure_id}/amend/preview",
        _post_json(lambda _s: f"/ops/failures/{NO_FAILURE}/amend/preview", lambda _s: CHANGE),
        ops_only("404"),
    ),
    Row(
        "POST",
        "/ops/failures/{failure_id}/amend",
        _post_json(
            lambda _s: f"/ops/failures/{NO_FAILURE}/amend",
            lambda _s: {**CHANGE, "reason": "matrix test"},
        ),
        ops_only("404"),
    ),
    Row(
        "GET",
        "/ops/cases/{case_urn}/timeline",
        _get(lambda _s: f"/ops/cases/{CASE}/timeline"),
        ops_only("200"),
    ),
    Row("GET", "/ops/figures", _get(lambda _s: "/ops/figures"), ops_only("200", manager="200")),
    Row(
        "GET",
        "/ops/figures/{table}.csv",
        _get(lambda _s: "/ops/figures/volumes.csv"),
        ops_only("200", manager="200"),
    ),
    Row(
        "GET",
        "/audit",
        _get(lambda _s: f"/audit?case_urn={CASE}"),
        {**everyone("403"), "anonymous": "401", "ops": "200"},
    ),
]


def _judge(row: Row, answer: httpx.Response, seeded: Seeded) -> str:
    wanted = set(row.expect.values())
    if answer.status_code == 200 and wanted & {"seen", "hidden"}:
        ids = {i["message_id"] for i in answer.json()["items"]}
        return "seen" if row.item(seeded) in ids else "hidden"
    if answer.status_code == 200 and wanted & {"acked", "unknown"}:
        body = answer.json()
        return "acked" if row.item(seeded) in body["acknowledged"] else "unknown"
    return str(answer.status_code)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
async def test_matrix(row: Row, client: httpx.AsyncClient, auth, hub) -> None:  # type: ignore[no-untyped-def]
    if row.path == "/court/messages" and not RESULTS.exists():
        pytest.skip("needs ../shared/samples")
    seeded = await seed(hub.engine)
    url, kwargs = row.request(seeded)
    wrong: list[str] = []
    for name, caller in CALLERS.items():
        headers = dict(kwargs.get("headers", {}))
        if caller is not None:
            role, org = caller
            headers |= auth(role, org=org, client=f"{name}-client")
        answer = await client.request(row.method, url, **{**kwargs, "headers": headers})
        got = _judge(row, answer, seeded)
        if name in row.pending:
            if got == row.expect[name]:
                wrong.append(f"{name}: now {got} as expected; drop it from pending")
            continue
        if got != row.expect[name]:
            wrong.append(f"{name}: expected {row.expect[name]}, got {got} ({answer.text[:200]})")
    assert not wrong, f"{row.id}:\n  " + "\n  ".join(wrong)


def _routes(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, through included routers and mounts."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI's included router: its routes with their prefix
            found |= {(m, c.path) for c in contexts() for m in c.methods or () if m != "HEAD"}
        elif isinstance(route, Mount):
            found.add(("*", route.path))  # static files or a sub-app: cover it as a whole
        else:
            found |= {(m, route.path) for m in getattr(route, "methods", None) or ()}
    return {(m, p) for m, p in found if m != "HEAD"}


def test_every_route_is_in_the_matrix() -> None:
    routes = _routes(create_app().routes)
    assert ("GET", "/messages/{message_id}") in routes  # the walk reaches included routers
    covered = {(r.method, r.path) for r in ROWS}
    assert routes - covered == set(), "add these routes to ROWS in this file"
    assert covered - routes == set(), "ROWS names routes the app no longer has"


def test_every_row_names_every_caller() -> None:
    for row in ROWS:
        assert set(row.expect) == set(CALLERS), row.id


async def test_unknown_message_is_404_for_ops_and_403_for_manager(client, auth) -> None:  # type: ignore[no-untyped-def]
    missing = "/messages/00000000-0000-4000-8000-000000000000"
    assert (await client.get(missing, headers=auth("ops"))).status_code == 404
    other = await client.get(missing, headers=auth("police", org=OTHER_FORCE))
    assert other.status_code == 404
    assert orjson.loads(other.content)["code"] == "NOT_FOUND"
    assert (await client.get(missing, headers=auth("manager"))).status_code == 403
