"""The writers' page (`/agent/writers`) and its JSON API (`/api/knowledge/...`).

(No `from __future__ import annotations` here: FastAPI must resolve the local dependency
aliases when the routes are declared.)

Same login, session cookie and `X-CSRF-Token` header as the agent API (`Access`). Everyone
logged in may read; creating or replacing articles, changing a gap cluster's status and
deleting drafts is for writers and admins. Agents may also make a draft from a handoff they
resolved (the console's "Save as article draft"). Invalid input is a 400 naming the fields:
`{"error": "...", "fields": {"questions": "..."}}`.
"""

from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from bot.console.agent_api import CSP, STATIC, Access
from bot.console.auth import LiveSession
from bot.knowledge.store import (
    DraftError,
    KnowledgeStore,
    Snapshot,
    change_json,
    draft_json,
)
from bot.language import base
from knowledge_base.editing import ArticleInput, ArticleRejected
from knowledge_base.loader import LANGUAGE_PATTERN, Article, ArticleError
from knowledge_base.service import KnowledgeBase

WRITER_ROLES = ("writer", "admin")
NOT_FOR_AGENTS = "only writers and admins change the knowledge base"
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
Handoff = Literal["never", "on_request", "always"]
Lang = Annotated[str, PathParam(max_length=16, pattern=LANGUAGE_PATTERN.pattern)]
Slug = Annotated[str, PathParam(max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]


class GapBookLike(Protocol):
    """What the API needs of bot.knowledge.gaps.GapBook."""

    async def clusters(
        self, status: str | None = "open", language: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...

    async def set_status(
        self, cluster_id: int, status: str, article_id: str | None = None
    ) -> dict[str, Any]: ...

    async def article_usage(self) -> list[dict[str, Any]]: ...


# ---------------------------------------------------------------- request and response bodies


class ArticleBody(BaseModel):
    id: str = Field(max_length=128, description="a slug like 'reset-password'")
    language: str = Field(max_length=16, description="one of the supported languages")
    title: str = Field(max_length=300)
    questions: list[Annotated[str, Field(max_length=500)]] = Field(
        max_length=200, description="example questions customers ask, at least one"
    )
    body: str = Field(max_length=20_000, description="the answer, in Markdown")
    handoff: Handoff | None = Field(default=None, description="default: on_request")
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)
    draft_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="the draft this publishes (optional)"
    )


class ArticleOut(BaseModel):
    id: str
    language: str
    title: str
    questions: list[str]
    body: str
    handoff: str
    tags: list[str]
    path: str


class SaveOut(BaseModel):
    article: ArticleOut
    created: bool
    live_after_seconds: float = Field(description="from the request until the bot answered it")


class FieldErrors(BaseModel):
    error: str
    fields: dict[str, str] = Field(default_factory=dict)


class Usage(BaseModel):
    article_id: str
    language: str | None = None
    answered: int = 0
    offered: int = 0
    not_helpful: int = 0
    handoff: int = 0
    helpful: int = 0  # "Yes, that answered my question" under the answer
    last_used: Any = None


class ArticleDetail(BaseModel):
    article: ArticleOut
    usage: Usage | None
    languages: list[str] = Field(description="the languages this id is written in")


class Translation(BaseModel):
    title: str
    questions: int
    handoff: str
    tags: list[str]


class ArticleRow(BaseModel):
    id: str
    languages: dict[str, Translation]
    missing: list[str] = Field(description="supported languages without this article")


class ArticleList(BaseModel):
    articles: list[ArticleRow]
    languages: list[str] = Field(description="the supported languages")
    errors: list[str] = Field(description="article files the knowledge base refused")


class TryBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    language: str | None = Field(default=None, max_length=16)


class CandidateOut(BaseModel):
    id: str
    language: str
    title: str
    score: float
    dense: float
    lexical: float


class TryOut(BaseModel):
    decision: str = Field(description="answer | clarify | unknown")
    language: str = Field(description="the language searched")
    candidates: list[CandidateOut]


class Cluster(BaseModel):
    id: int
    language: str | None = None
    languages: list[str] = Field(default_factory=list)
    status: str = Field(description="open | covered | dismissed")
    covered_by: str | None = Field(default=None, description="the article that covers it")
    count: int
    question: str | None = Field(default=None, description="the representative question")
    reasons: dict[str, int] = Field(default_factory=dict)
    first_seen: Any = None
    last_seen: Any = None
    questions: list[Any] = Field(default_factory=list)
    articles: list[Any] = Field(default_factory=list)
    conversations: list[Any] = Field(default_factory=list)
    agent_answers: list[Any] = Field(default_factory=list)


class GapList(BaseModel):
    clusters: list[Cluster]


class GapChanged(BaseModel):
    cluster: Cluster


class GapStatusBody(BaseModel):
    status: Literal["dismissed", "open"]


class DraftBody(BaseModel):
    handoff_id: int = Field(ge=1, le=2**63 - 1)


class DraftOut(BaseModel):
    id: int
    handoff_id: int | None
    language: str
    article_id: str
    title: str
    questions: list[str]
    body: str
    status: str
    created_by: str
    created_at: str
    published_as: str | None
    published_at: str | None


class DraftSaved(BaseModel):
    draft: DraftOut
    created: bool


class DraftList(BaseModel):
    drafts: list[DraftOut]


class Change(BaseModel):
    id: int
    article_id: str
    language: str
    action: str = Field(description="created | replaced")
    author: str
    fields: list[str]
    summary: str
    at: str


class History(BaseModel):
    changes: list[Change]


# ---------------------------------------------------------------- helpers


def field_errors(errors: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Pydantic's errors by the body field they are about (the first one for each)."""
    fields: dict[str, str] = {}
    for error in errors:
        loc = list(error.get("loc", ()))
        where = loc[0] if loc else "request"
        name = loc[1] if where == "body" and len(loc) > 1 and isinstance(loc[1], str) else where
        if where == "body" and name == "body" and len(loc) <= 1:
            name = "request"
        fields.setdefault(str(name), str(error.get("msg", "invalid")))
    return fields


class FieldErrorRoute(APIRoute):
    """A 400 `{"error", "fields"}` for a request that does not fit the route's models."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                fields = field_errors(exc.errors())
                problems = "; ".join(f"{k}: {v}" for k, v in fields.items())
                return JSONResponse(
                    {"error": f"invalid request: {problems}", "fields": fields}, 400
                )

        return checked


def refused(errors: list[ArticleError]) -> JSONResponse:
    fields: dict[str, str] = {}
    for error in errors:
        fields.setdefault(error.field, error.message)
    problems = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return JSONResponse({"error": f"the article was not saved: {problems}", "fields": fields}, 400)


def article_out(article: Article) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        language=article.language,
        title=article.title,
        questions=list(article.questions),
        body=article.body,
        handoff=article.handoff,
        tags=list(article.tags),
        path=f"{article.language}/{article.path.name}",
    )


def snapshot(article: Article) -> Snapshot:
    return Snapshot(article.title, article.questions, article.body, article.handoff, article.tags)


def matches(article: Article, query: str) -> bool:
    needle = query.casefold()
    return any(
        needle in text.casefold() for text in (article.id, article.title, *article.questions)
    )


# ---------------------------------------------------------------- the router


def build_knowledge_api(
    access: Access,
    kb: KnowledgeBase,
    store: KnowledgeStore,
    gaps: GapBookLike | None,
) -> APIRouter:
    api = APIRouter(route_class=FieldErrorRoute)
    Reader = Annotated[LiveSession, Depends(access.session)]
    Editor = Annotated[
        LiveSession, Depends(access.role(*WRITER_ROLES, change=True, refusal=NOT_FOR_AGENTS))
    ]
    Anyone = Annotated[LiveSession, Depends(access.csrf)]
    invalid: dict[int | str, dict[str, Any]] = {
        400: {"model": FieldErrors, "description": "Invalid input, by field"}
    }

    def languages() -> list[str]:
        """The languages a writer may save in (the hub's and the article folders), the
        default first."""
        known = kb.known_languages()
        return sorted(known, key=lambda lang: (lang != kb.default_language, lang))

    def find(language: str, article_id: str) -> Article | None:
        for article in kb.articles():
            if article.id == article_id and article.language == language:
                return article
        return None

    @api.get("/agent/writers", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(
            STATIC / "writers.html",
            media_type="text/html",
            headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"},
        )

    @api.post(
        "/api/knowledge/articles",
        tags=["knowledge"],
        response_model=SaveOut,
        responses={
            201: {"model": SaveOut, "description": "Created; the bot answers with it"},
            **invalid,
        },
    )
    async def save(body: ArticleBody, current: Editor) -> JSONResponse:
        """Create (201) or replace (200) the article `<language>/<id>`: the Markdown file is
        written in `knowledge_base/articles/<language>/` and the running bot answers from it
        when this returns. Refused with 400 and the fields at fault: a bad id, an unsupported
        language, no title, no example question, an empty body, a bad handoff policy."""
        article = ArticleInput(
            id=body.id,
            language=body.language,
            title=body.title,
            questions=list(body.questions),
            body=body.body,
            handoff=body.handoff,
            tags=list(body.tags),
        )
        errors = kb.validate(article)
        if errors:
            return refused(errors)
        if body.draft_id is not None and await store.draft(body.draft_id) is None:
            return JSONResponse(
                {"error": f"no draft {body.draft_id}", "fields": {"draft_id": "no such draft"}},
                400,
            )
        before = find(body.language, body.id)
        try:
            result = await kb.save_article(article, current.agent.username)
        except ArticleRejected as exc:
            return refused(exc.errors)
        await store.record(
            result.article.id,
            result.article.language,
            current.agent.username,
            snapshot(before) if before and not result.created else None,
            snapshot(result.article),
        )
        if body.draft_id is not None:
            await store.mark_published(body.draft_id, result.article.language, result.article.id)
        saved = SaveOut(
            article=article_out(result.article),
            created=result.created,
            live_after_seconds=round(result.seconds, 3),
        )
        return JSONResponse(saved.model_dump(mode="json"), 201 if result.created else 200)

    @api.get("/api/knowledge/articles", tags=["knowledge"])
    async def listing(_: Reader, q: Annotated[str, Query(max_length=200)] = "") -> ArticleList:
        """Every article id with its languages side by side and the supported languages it is
        missing in; `?q=` keeps the ids whose id, title or example questions contain it (in
        any language)."""
        known = languages()
        by_id: dict[str, dict[str, Article]] = {}
        hits: set[str] = set()
        for article in kb.articles():
            by_id.setdefault(article.id, {})[article.language] = article
            if not q.strip() or matches(article, q.strip()):
                hits.add(article.id)
        rows = [
            ArticleRow(
                id=article_id,
                languages={
                    lang: Translation(
                        title=a.title,
                        questions=len(a.questions),
                        handoff=a.handoff,
                        tags=list(a.tags),
                    )
                    for lang, a in sorted(by_id[article_id].items())
                },
                missing=[lang for lang in known if lang not in by_id[article_id]],
            )
            for article_id in sorted(hits)
        ]
        status = kb.status()
        problems = status.get("article_errors", [])
        return ArticleList(
            articles=rows,
            languages=known,
            errors=[str(p) for p in problems] if isinstance(problems, list) else [],
        )

    @api.get(
        "/api/knowledge/articles/{language}/{article_id}",
        tags=["knowledge"],
        responses={404: {"description": "No such article"}},
    )
    async def one(language: Lang, article_id: Slug, _: Reader) -> ArticleDetail:
        """One article, with its usage when the gap log counts it."""
        article = find(language, article_id)
        if article is None:
            raise HTTPException(404, f"no article {language}/{article_id}")
        usage = None
        if gaps is not None:
            for row in await gaps.article_usage():
                if row.get("article_id") == article_id and row.get("language") in (
                    language,
                    None,
                ):
                    usage = Usage(**row)
                    break
        return ArticleDetail(
            article=article_out(article),
            usage=usage,
            languages=sorted({a.language for a in kb.articles() if a.id == article_id}),
        )

    @api.post(
        "/api/knowledge/try",
        tags=["knowledge"],
        responses={**invalid, 503: {"description": "The knowledge base is still loading"}},
    )
    async def try_it(body: TryBody, _: Anyone) -> TryOut:
        """What the bot would decide for a question now: answer, clarify or unknown, with the
        candidates and their scores. Changes nothing (no gap is logged)."""
        language = body.language or None
        bases = {base(lang) for lang in languages()}
        if language is not None and base(language) not in bases:
            return JSONResponse(  # type: ignore[return-value]
                {
                    "error": f"language: one of {', '.join(languages())}",
                    "fields": {"language": f"must be one of {', '.join(languages())}"},
                },
                400,
            )
        found = await kb.search(body.text, language)
        if found is None:
            raise HTTPException(503, "the knowledge base is still loading; try again shortly")
        return TryOut(
            decision=found.decision,
            language=found.language,
            candidates=[
                CandidateOut(
                    id=c.article.id,
                    language=c.article.language,
                    title=c.article.title,
                    score=round(float(c.score), 4),
                    dense=round(float(c.dense), 4),
                    lexical=round(float(c.lexical), 4),
                )
                for c in found.candidates[:10]
            ],
        )

    @api.get("/api/knowledge/gaps", tags=["knowledge"])
    async def gap_list(
        _: Reader,
        status: Literal["open", "covered", "dismissed", "all"] = "open",
        language: Annotated[str | None, Query(max_length=16)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> GapList:
        """Clusters of questions the bot did not resolve, largest first, with their status
        (open, covered by an article, dismissed), sample questions, the closest articles and
        what agents answered."""
        if gaps is None:
            return GapList(clusters=[])
        rows = await gaps.clusters(
            status=None if status == "all" else status, language=language or None, limit=limit
        )
        return GapList(clusters=[Cluster(**row) for row in rows])

    @api.post(
        "/api/knowledge/gaps/{cluster_id}",
        tags=["knowledge"],
        responses={**invalid, 404: {"description": "No such cluster"}},
    )
    async def gap_status(cluster_id: Id, body: GapStatusBody, _: Editor) -> GapChanged:
        """Dismiss a cluster (not worth an article) or open it again."""
        if gaps is None:
            raise HTTPException(404, f"no gap cluster {cluster_id}")
        try:
            changed = await gaps.set_status(cluster_id, body.status)
        except KeyError:
            raise HTTPException(404, f"no gap cluster {cluster_id}") from None
        return GapChanged(cluster=Cluster(**changed))

    @api.post(
        "/api/knowledge/drafts",
        tags=["knowledge"],
        response_model=DraftSaved,
        responses={
            201: {"model": DraftSaved, "description": "Made"},
            404: {"description": "No such handoff"},
            409: {"description": "The handoff is not resolved, or has nothing to draft from"},
            **invalid,
        },
    )
    async def make_draft(body: DraftBody, current: Anyone) -> JSONResponse:
        """An article draft from a resolved handoff (201; 200 with the draft already made):
        the customer's questions become the example questions, the agent's replies the body,
        the conversation's language the language, the first question the suggested id and
        title. A writer reviews it and saves it as an article."""
        try:
            draft, created = await store.draft_from_handoff(
                body.handoff_id, current.agent.username, frozenset(languages())
            )
        except DraftError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        saved = DraftSaved(draft=DraftOut(**draft_json(draft)), created=created)
        return JSONResponse(saved.model_dump(mode="json"), 201 if created else 200)

    @api.get("/api/knowledge/drafts", tags=["knowledge"])
    async def drafts(_: Reader, status: Literal["open", "published", "all"] = "open") -> DraftList:
        """Drafts waiting for a writer (`?status=published|all` for the others), newest first."""
        rows = await store.drafts(None if status == "all" else status)
        return DraftList(drafts=[DraftOut(**draft_json(d)) for d in rows])

    @api.delete(
        "/api/knowledge/drafts/{draft_id}",
        tags=["knowledge"],
        responses={404: {"description": "No such draft"}},
    )
    async def delete_draft(draft_id: Id, _: Editor) -> dict[str, Any]:
        if not await store.delete_draft(draft_id):
            raise HTTPException(404, f"no draft {draft_id}")
        return {}

    @api.get("/api/knowledge/history", tags=["knowledge"])
    async def history(
        _: Reader,
        article: Annotated[str | None, Query(max_length=128)] = None,
        language: Annotated[str | None, Query(max_length=16)] = None,
    ) -> History:
        """Saves from the writers' page, newest first: who, when, created or replaced, and
        which fields changed; `?article=<id>` (and `&language=`) for one article."""
        rows = await store.history(article or None, language or None)
        return History(changes=[Change(**change_json(c)) for c in rows])

    return api
