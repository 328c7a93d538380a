"""The console's web application (FastAPI, Jinja2 templates, htmx): plumbing — sessions, CSRF,
the signed-in user, rendering in the user's language, and acting by publishing events."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from cachetools import TTLCache
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from shared.config import Settings
from shared.console import access, formatting
from shared.store.models import ConsoleUser

HERE = Path(__file__).parent
SESSION_HOURS = 8
COUNTS_SECONDS = 30
# Publishes one contract event and returns it once the broker has it (the console waits: a user
# must not be told "done" for an event that was lost).
Publish = Callable[..., BaseModel]


class Refused(Exception):
    """The rules refuse this request: 403 (or 401/429 at login), audited."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class SignInNeeded(Exception):
    pass


@dataclass
class Console:
    """What the routes need: the store, how to publish, the clock, where uploaded lists go."""

    sessions: sessionmaker[Session]
    publish: Publish
    now: Callable[[], dt.datetime]
    upload_dir: Path
    new_publisher: Callable[[], object]
    templates: Jinja2Templates
    csrf: URLSafeTimedSerializer
    settings: Settings  # the data-protection officer's operations need the privacy key and deadlines
    # The funnel's counts by filter, kept a little while: a million leads take seconds to count, and
    # supervisors reload the dashboard far more often than the figures move.
    counts: TTLCache = field(default_factory=lambda: TTLCache(maxsize=256, ttl=COUNTS_SECONDS))

    def counted(self, key, count: Callable[[Session], tuple]) -> tuple:
        """`count(session)`'s figures and when they were counted, counted again past COUNTS_SECONDS."""
        if key not in self.counts:
            with self.sessions() as session:
                self.counts[key] = (*count(session), self.now())
        return self.counts[key]

    def render(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        language = request.session.get("lang", "vi")
        catalogue = formatting.translations(language)
        return self.templates.TemplateResponse(request, template, status_code=status, context={
            "user": getattr(request.state, "user", None), "lang": language, "csrf_token": self.csrf_token(request),
            "gettext": _formatted(catalogue.gettext), "now": self.now(),
            "when": lambda m: formatting.when(m, language), "number": lambda n: formatting.number(n, language),
            "masked": formatting.masked, "province": formatting.province,
            "countdown": lambda due: formatting.countdown(due, self.now()), **context})

    def csrf_token(self, request: Request) -> str:
        if "sid" not in request.session:
            request.session["sid"] = secrets.token_urlsafe(24)
        return self.csrf.dumps(request.session["sid"])

    async def check_csrf(self, request: Request) -> dict:
        """The form, once its CSRF token (field `csrf` or header X-CSRF-Token) matches the session."""
        form = await request.form()
        token = form.get("csrf") or request.headers.get("x-csrf-token") or ""
        try:
            sid = self.csrf.loads(token, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            sid = None
        if sid is None or sid != request.session.get("sid"):
            self.audit(request, "csrf", request.url.path, None, "refused")
            raise Refused(403, "csrf")
        return dict(form)

    def user(self, request: Request, page: str) -> access.User:
        """The signed-in user, if their role opens `page`."""
        username = request.session.get("user")
        with self.sessions() as session:
            row = session.get(ConsoleUser, username) if username else None
            if row is None:
                raise SignInNeeded()
            user = request.state.user = access.user_of(row)
        if not user.opens(page):
            self.audit(request, f"open:{page}", request.url.path, None, "refused")
            raise Refused(403, "role")
        return user

    def audit(self, request: Request, action: str, subject: str | None, event_id: str | None, result: str,
              detail: str | None = None) -> None:
        with self.sessions() as session:
            access.audit(session, request.session.get("user") or "-", action, subject, event_id, result, self.now(),
                         detail)

    def act(self, request: Request, action: str, subject: str, event_type: str, detail: str | None = None,
            **fields) -> BaseModel:
        """Publishes the event of a user's action and writes it to the audit log."""
        try:
            event = self.publish(event_type, **fields)
        except Exception as exc:
            self.audit(request, action, subject, None, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self.audit(request, action, subject, event.envelope.event_id, "done", detail)
        return event


def _formatted(gettext: Callable[[str], str]) -> Callable[..., str]:
    """gettext as Jinja's new-style calls it: `_("Open: %(count)s", count=n)`."""
    def translate(message: str, **values) -> str:
        text = gettext(message)
        return text % values if values else text
    return translate


def create_app(sessions: sessionmaker[Session], publish: Publish, now: Callable[[], dt.datetime], secret: str,
               upload_dir: Path, new_publisher: Callable[[], object] | None = None,
               settings: Settings | None = None) -> FastAPI:
    from shared.console import pages

    app = FastAPI(title="careflow console", docs_url=None, redoc_url=None, openapi_url=None)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                     extensions=["jinja2.ext.i18n"])
    environment.install_null_translations(newstyle=True)  # each page passes its language's gettext
    templates = Jinja2Templates(env=environment)
    console = Console(sessions, publish, now, upload_dir, new_publisher or (lambda: None), templates,
                      URLSafeTimedSerializer(secret, salt="careflow-console-csrf"), settings or Settings())
    app.state.console = console
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="careflow_console",
                       max_age=SESSION_HOURS * 3600, same_site="strict")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _exc: SignInNeeded):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused):
        return console.render(request, "refused.html", status=exc.status, reason=exc.reason)

    app.include_router(pages.router)
    return app
