"""The reports page (`/agent/reports`) and its JSON/CSV API (`/api/reports/...`).

(No `from __future__ import annotations` here: FastAPI must resolve the local dependency
aliases when the routes are declared.)

Same login as the agent API (`Access`: the session cookie); reports are for `supervisor` and
`admin` accounts (401 without a login, 403 for agents and writers). Every route takes the same
optional filters: `from` and `to` (YYYY-MM-DD, inclusive UTC days; default the last 30 days
ending today; at most 366 days), `channel`, `language`, `agent` (username) and `reason`
(handoff reason). A bad parameter is a 400 naming it; an unknown table a 404.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bot.console.agent_api import CSP, STATIC, Access
from bot.console.auth import LiveSession
from bot.handoff.handoffs import REASONS
from bot.reports.export import filename, to_csv
from bot.reports.filters import ReportError, ReportFilters, parse_filters
from bot.reports.numbers import TABLES, Reports
from bot.storage.db import StorageUnavailable

REPORT_ROLES = ("supervisor", "admin")
NOT_FOR_YOU = "reports are for supervisor and admin accounts"
NO_STORE = {"Cache-Control": "no-store"}

# ------------------------------------------------------------------------ response bodies


class FiltersOut(BaseModel):
    channel: str | None
    language: str | None
    agent: str | None
    reason: str | None


class BotOut(BaseModel):
    replies: int = Field(description="customer messages the knowledge base tried to answer")
    answered: float | None = Field(description="share of replies that were an answer")
    clarified: float | None = Field(description="share that asked which of two articles")
    unknown: float | None = Field(description="share the bot could not answer")
    containment: float | None = Field(description="contained / conversations")
    contained: int = Field(
        description="conversations with a bot answer, no handoff, no 'that didn't help' and "
        "no 'no' to 'did this answer your question?'"
    )
    conversations: int = Field(description="conversations in which the bot replied at least once")


class ReasonOut(BaseModel):
    reason: str
    count: int = Field(description="handoffs for this reason")
    rate: float | None = Field(description="share of conversations handed off for it")


class HandoffsOut(BaseModel):
    count: int
    rate: float | None = Field(description="share of conversations handed off at least once")
    by_reason: list[ReasonOut]


class TimingOut(BaseModel):
    count: int
    median: float | None = Field(description="seconds")
    p90: float | None = Field(description="seconds")


class PeopleOut(BaseModel):
    queue_wait: TimingOut = Field(description="queued -> claimed")
    first_response: TimingOut = Field(description="queued -> the first agent message")
    resolution: TimingOut = Field(description="queued -> resolved")


class CsatOut(BaseModel):
    score: float | None = Field(description="share of 4 and 5 among the ratings")
    responses: int
    distribution: dict[str, int] = Field(description='{"1": count, ..., "5": count}')


class AnswerFeedbackOut(BaseModel):
    yes: int
    no: int


class RepeatOut(BaseModel):
    rate: float | None = Field(description="repeated / customers")
    customers: int = Field(description="customers who asked about a topic")
    repeated: int = Field(
        description="... and asked about the same topic again 1 hour to 7 days later"
    )


class SummaryOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    filters: FiltersOut
    conversations: int = Field(description="conversations created in the range")
    customer_messages: int
    bot: BotOut
    handoffs: HandoffsOut
    people: PeopleOut
    csat: CsatOut
    answer_feedback: AnswerFeedbackOut
    repeat_contact: RepeatOut


class TableOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    table: str
    from_: str = Field(alias="from")
    to: str
    columns: list[str]
    rows: list[dict[str, Any]]


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A bad filter or format, named in the message"},
    401: {"model": ErrorOut, "description": "Not logged in"},
    403: {"model": ErrorOut, "description": "Not a supervisor or admin account"},
    503: {"model": ErrorOut, "description": "The database is unavailable: try again"},
}
TABLE_LIST = ", ".join(TABLES)

# ------------------------------------------------------------------------ the query parameters

From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=10,
        description="first day, YYYY-MM-DD (UTC); default: 29 days before `to`",
        examples=["2026-11-03"],
    ),
]
To = Annotated[
    str | None,
    Query(max_length=10, description="last day, YYYY-MM-DD (UTC); default: today"),
]
Channel = Annotated[str | None, Query(max_length=32, description="web, telegram, slack, ...")]
Language = Annotated[str | None, Query(max_length=16, description="a conversation language")]
AgentName = Annotated[
    str | None, Query(max_length=64, description="an agent's username: their handoffs")
]
Reason = Annotated[
    str | None, Query(max_length=16, description=f"a handoff reason: {', '.join(REASONS)}")
]
Format = Annotated[str, Query(max_length=8, description="json (default) or csv")]
TableName = Annotated[str, PathParam(max_length=32, description=f"one of {TABLE_LIST}")]


def build_reports_api(access: Access, reports: Reports) -> APIRouter:
    api = APIRouter()
    Supervisor = Annotated[LiveSession, Depends(access.role(*REPORT_ROLES, refusal=NOT_FOR_YOU))]

    def filters(
        start: str | None,
        end: str | None,
        channel: str | None,
        language: str | None,
        agent: str | None,
        reason: str | None,
    ) -> ReportFilters:
        try:
            return parse_filters(start, end, channel, language, agent, reason)
        except ReportError as exc:
            raise HTTPException(400, str(exc)) from exc

    async def run(action: Any) -> Any:
        try:
            return await action
        except ReportError as exc:  # e.g. no agent of that name
            raise HTTPException(400, str(exc)) from exc
        except StorageUnavailable as exc:
            raise HTTPException(503, str(exc)) from exc

    @api.get("/agent/reports", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(
            STATIC / "reports.html",
            media_type="text/html",
            headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"},
        )

    @api.get(
        "/api/reports/summary",
        tags=["reports"],
        response_model=SummaryOut,
        responses=ERRORS,
    )
    async def summary(
        _: Supervisor,
        start: From = None,
        to: To = None,
        channel: Channel = None,
        language: Language = None,
        agent: AgentName = None,
        reason: Reason = None,
    ) -> JSONResponse:
        """The headline numbers for the range: conversations, the bot (answered, clarified,
        unknown, containment), handoffs by reason, people (queue wait, first response,
        resolution: median and p90 in seconds), CSAT, answer feedback, repeat contact. Shares
        are fractions 0..1, null when there is nothing to divide by."""
        chosen = filters(start, to, channel, language, agent, reason)
        body = await run(reports.summary(chosen))
        return JSONResponse(body, headers=NO_STORE)

    @api.get(
        "/api/reports/{table}",
        tags=["reports"],
        response_model=TableOut,
        responses={
            200: {
                "description": "The table as JSON, or as CSV with `format=csv` (a header row, "
                "then the rows; text starting with = + - @ is prefixed with ')",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **ERRORS,
            404: {"model": ErrorOut, "description": f"No such table: {TABLE_LIST}"},
        },
    )
    async def table(
        _: Supervisor,
        table: TableName,
        format: Format = "json",
        start: From = None,
        to: To = None,
        channel: Channel = None,
        language: Language = None,
        agent: AgentName = None,
        reason: Reason = None,
    ) -> Response:
        """One report table: `daily`, `reasons`, `agents`, `channels`, `languages`, `ratings`,
        `comments`, `articles`, `gaps` or `repeats`, with the same filters as the summary, as
        JSON (`{"table", "from", "to", "columns", "rows"}`) or CSV (`format=csv`, a download
        named `<table>-<from>-<to>.csv`)."""
        if table not in TABLES:
            raise HTTPException(404, f"no report table {table[:32]!r}: one of {TABLE_LIST}")
        if format not in ("json", "csv"):
            raise HTTPException(400, "format: json or csv")
        chosen = filters(start, to, channel, language, agent, reason)
        body = await run(reports.table(table, chosen))
        if format == "json":
            return JSONResponse(body, headers=NO_STORE)
        name = filename(table, body["from"], body["to"])
        return Response(
            to_csv(body["columns"], body["rows"]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
        )

    return api
