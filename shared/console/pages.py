"""The console's pages and actions, per role. Every action is one contract event; the checks of
shared/console/access.py run on every request."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select

from shared.console import access, formatting, queries
from shared.console.app import Console, Refused
from shared.domain.emails import split_emails
from shared.domain.phones import normalize_phone
from shared.domain.provinces import PROVINCE_CODES, PROVINCE_NAMES
from shared.privacy.subjects import PrivacyKeyMissing
from shared.operators import privacy, reports
from shared.operators.reports import FunnelFilter
from shared.store.models import CareCase, ConsoleUser, Escalation, Lead

router = APIRouter()
HOME = {"admin": "/funnel", "tct_supervisor": "/leads", "bdt_staff": "/leads", "care_agent": "/care",
        "callcentre_supervisor": "/profiles", "dpo": "/privacy"}
CALLABLE = ("mobile", "landline", "voip")


def _console(request: Request) -> Console:
    return request.app.state.console


# --- signing in ---------------------------------------------------------------------------------

@router.get("/login")
def login_form(request: Request):
    return _console(request).render(request, "login.html")


@router.post("/login")
async def login(request: Request):
    console = _console(request)
    form = await console.check_csrf(request)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    with console.sessions() as session:
        try:
            user = access.authenticate(session, username, password, console.now())
        except access.AccessError as exc:
            session.commit()
            status = 429 if str(exc) == "throttled" else 401
            return console.render(request, "login.html", status=status, error=str(exc), username=username)
        session.commit()
    language = request.session.get("lang", "vi")
    request.session.clear()  # a new session id on sign-in: a session fixed before is worth nothing
    request.session.update(user=user.username, lang=language)
    return RedirectResponse(HOME[user.role], status_code=303)


@router.post("/logout")
async def logout(request: Request):
    await _console(request).check_csrf(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
async def language(request: Request):
    form = await _console(request).check_csrf(request)
    if form.get("lang") in formatting.LANGUAGES:
        request.session["lang"] = form["lang"]
    return RedirectResponse(request.headers.get("referer") or "/", status_code=303)


@router.get("/")
def home(request: Request):
    username = request.session.get("user")
    if not username:
        return RedirectResponse("/login", status_code=303)
    with _console(request).sessions() as session:
        row = session.get(ConsoleUser, username)
    return RedirectResponse(HOME[row.role] if row else "/login", status_code=303)


# --- escalated leads: the BĐT and TCT worklists --------------------------------------------------

@router.get("/leads")
def worklist(request: Request, owner: str | None = None, page: int = 0):
    console = _console(request)
    user = console.user(request, "leads")
    # A post office sees its own list only; TCT's supervisors and the administrator any owner's.
    if user.role == "bdt_staff":
        owner = user.unit
    owner = owner or "TCT"
    with console.sessions() as session:
        rows, total = queries.worklist(session, owner, max(page, 0))
    return console.render(request, "leads.html", rows=rows, total=total, owner=owner, page=max(page, 0),
                          page_size=queries.PAGE_SIZE, owners=["TCT", *(f"BDT-{c}" for c in sorted(PROVINCE_CODES))])


def _lead(console: Console, request: Request, lead_id: str) -> tuple[access.User, Lead | None, Escalation | None]:
    user = console.user(request, "leads")
    with console.sessions() as session:
        lead, escalation = session.get(Lead, lead_id), session.get(Escalation, lead_id)
    if (lead is None and escalation is None) or not access.may_see_lead(user, lead, escalation):
        # The same answer for another province's lead as for no lead: nothing leaks either way.
        console.audit(request, "open:lead", lead_id, None, "refused")
        raise Refused(404, "no-lead")
    return user, lead, escalation


@router.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: str, sent: str | None = None, error: str | None = None):
    console = _console(request)
    user, lead, escalation = _lead(console, request, lead_id)
    with console.sessions() as session:
        timeline, contacts = queries.lead_timeline(session, lead_id), queries.contacts(session, lead_id)
    may_work = access.may_work(user, escalation)
    return console.render(request, "lead.html", status=400 if error else 200, lead=lead, lead_id=lead_id,
                          escalation=escalation, timeline=timeline, contacts=contacts, may_work=may_work,
                          may_return=may_work and user.role == "bdt_staff", sent=sent, error=error)


@router.post("/leads/{lead_id}/work")
async def work_lead(request: Request, lead_id: str):
    console = _console(request)
    form = await console.check_csrf(request)
    user, lead, escalation = _lead(console, request, lead_id)
    if not access.may_work(user, escalation):
        console.audit(request, "work", lead_id, None, "refused")
        raise Refused(403, "not-owner")
    outcome = form.get("outcome")
    phone = (form.get("phone") or "").strip() or None
    email = (form.get("email") or "").strip() or None
    note = (form.get("note") or "").strip() or None
    if outcome not in ("supported", "contact_found", "closed_inactive"):
        return lead_page(request, lead_id, error="outcome")
    if outcome == "contact_found":
        number = normalize_phone(phone) if phone else None
        emails, _ = split_emails(email)
        if (phone and (number is None or number.type.value not in CALLABLE)) or (email and not emails) \
                or not (phone or email):
            return lead_page(request, lead_id, error="contact")
        phone, email = (number.e164 if number else None), (emails[0] if emails else None)
    else:
        phone = email = None
    event = console.act(request, f"work:{outcome}", lead_id, "lead-worked", detail=note, lead_id=lead_id,
                        worked_by=escalation.owner, user=user.username, outcome=outcome, phone=phone, email=email,
                        note=note)
    return RedirectResponse(f"/leads/{lead_id}?sent={event.envelope.event_id}", status_code=303)


@router.post("/leads/{lead_id}/return")
async def return_lead(request: Request, lead_id: str):
    console = _console(request)
    form = await console.check_csrf(request)
    user, lead, escalation = _lead(console, request, lead_id)
    if user.role != "bdt_staff" or not access.may_work(user, escalation):
        console.audit(request, "return", lead_id, None, "refused")
        raise Refused(403, "not-owner")
    note = (form.get("note") or "").strip()
    if not note:
        return lead_page(request, lead_id, error="reason")
    event = console.act(request, "return", lead_id, "escalation-returned", detail=note, lead_id=lead_id,
                        returned_by=user.unit, note=note)
    return RedirectResponse(f"/leads/{lead_id}?sent={event.envelope.event_id}", status_code=303)


# --- the care desk -------------------------------------------------------------------------------

@router.get("/care")
def care_desk(request: Request, owner: str | None = None, kind: str | None = None):
    console = _console(request)
    console.user(request, "care")
    with console.sessions() as session:
        cases, owners = queries.care_desk(session, owner, kind), queries.care_owners(session)
    return console.render(request, "care.html", cases=cases, owners=owners, owner=owner, kind=kind,
                          due=_due, kinds=("consult_service", "consult_software", "pickup_urging", "complaint"))


def _due(case: CareCase) -> dt.datetime | None:
    due = case.state.get("sla_due_at")
    return dt.datetime.fromisoformat(due) if due else None


def _case(console: Console, request: Request, case_id: str) -> CareCase:
    console.user(request, "care")
    with console.sessions() as session:
        case = session.get(CareCase, case_id)
    if case is None:
        raise Refused(404, "no-case")
    return case


@router.get("/care/{case_id}")
def case_page(request: Request, case_id: str, sent: str | None = None, error: str | None = None):
    console = _console(request)
    case = _case(console, request, case_id)
    with console.sessions() as session:
        timeline = queries.customer_timeline(session, case.customer_id)
    return console.render(request, "case.html", status=400 if error else 200, case=case, due=_due(case),
                          timeline=timeline, sent=sent, error=error)


CARE_UPDATES = {"take": "assigned", "note": "note", "pause": "waiting_on_customer", "resume": "resumed"}


@router.post("/care/{case_id}/{action}")
async def case_action(request: Request, case_id: str, action: str):
    console = _console(request)
    form = await console.check_csrf(request)
    case = _case(console, request, case_id)
    user = request.state.user
    text = (form.get("text") or "").strip() or None
    resolved = case.status == "resolved"
    if action in CARE_UPDATES and not resolved:
        if action == "note" and not text:
            return case_page(request, case_id, error="text")
        event = console.act(request, f"care:{action}", case_id, "care-case-updated", detail=text, case_id=case_id,
                            customer_id=case.customer_id, update=CARE_UPDATES[action], agent_id=user.username,
                            note=text)
    elif action == "escalate" and case.status == "open":
        if not text:
            return case_page(request, case_id, error="text")
        event = console.act(request, "care:escalate", case_id, "care-case-updated", detail=text, case_id=case_id,
                            customer_id=case.customer_id, update="note", agent_id=user.username, note=text,
                            escalate=True)
    elif action == "resolve" and not resolved:
        event = console.act(request, "care:resolve", case_id, "care-case-resolved", detail=text, case_id=case_id,
                            customer_id=case.customer_id, outcome=form.get("outcome") or "resolved", resolution=text)
    elif action == "reopen" and resolved:
        # A new request of the same kind reopens a recently resolved case (care-cases decides).
        event = console.act(request, "care:reopen", case_id, "care-requested", detail=text,
                            request_id=uuid.uuid4().hex, customer_id=case.customer_id, kind=case.kind,
                            channel="console", text=text)
    else:
        console.audit(request, f"care:{action}", case_id, None, "refused")
        raise Refused(409, "case-state")
    return RedirectResponse(f"/care/{case_id}?sent={event.envelope.event_id}", status_code=303)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: str):
    console = _console(request)
    console.user(request, "care")
    with console.sessions() as session:
        timeline = queries.customer_timeline(session, customer_id)
        lead = session.get(Lead, customer_id)
    if not timeline:
        raise Refused(404, "no-customer")
    return console.render(request, "customer.html", customer_id=customer_id, lead=lead, timeline=timeline)


# --- reports -------------------------------------------------------------------------------------

def _date(text: str | None) -> dt.datetime | None:
    """A day from the form (yyyy-mm-dd from a date input, or dd/mm/yyyy), as its start in Vietnam."""
    if not text:
        return None
    match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", text.strip())
    day = dt.date(int(match[3]), int(match[2]), int(match[1])) if match else dt.date.fromisoformat(text.strip())
    return dt.datetime.combine(day, dt.time(), formatting.VIETNAM)


@router.get("/funnel")
def funnel_page(request: Request, source: str | None = None, since: str | None = None, until: str | None = None,
                province: str | None = None):
    console = _console(request)
    user = console.user(request, "funnel")
    if user.role == "bdt_staff":
        province = user.province  # a post office sees its own province
    try:
        end = _date(until)
        where = FunnelFilter(source or None, _date(since), end + dt.timedelta(days=1) if end else None,
                             province if province in PROVINCE_CODES else None)
    except ValueError:
        raise Refused(400, "date") from None
    report, trend, reasons, per_list, lists, counted_at = console.counted(where, lambda session: (
        reports.funnel(session, where), queries.trend(session, where), queries.escalation_reasons(session, where),
        queries.by_list(session, where), queries.sources(session)))
    overall = report["overall"]
    stages = ["imported", "normalized", "list:callable", "list:email_only", "list:insufficient", "requested:email",
              "requested:sms", "requested:call", "called", "supported", "escalated"]
    charts = {"funnel": {"labels": stages, "values": [overall.get(s, 0) for s in stages]},
              "provinces": {"labels": list(report["by_province"]),
                            "supported": [c.get("supported", 0) for c in report["by_province"].values()],
                            "escalated": [c.get("escalated", 0) for c in report["by_province"].values()],
                            "imported": [c.get("imported", 0) for c in report["by_province"].values()]},
              "trend": {"labels": [formatting.when(dt.datetime.fromisoformat(d).replace(tzinfo=dt.timezone.utc))[:10]
                                   for d in trend],
                        "imported": [v["imported"] for v in trend.values()],
                        "supported": [v["supported"] for v in trend.values()]}}
    gettext = formatting.translations(request.session.get("lang", "vi")).gettext
    labels = {"funnel": [gettext(s) for s in stages], **{s: gettext(s) for s in ("imported", "supported", "escalated")}}
    return console.render(request, "funnel.html", report=report, stages=stages, charts=charts, reasons=reasons,
                          chart_labels=labels, counted_at=counted_at, per_list=per_list,
                          lists=lists, provinces=PROVINCE_NAMES, filters={"source": source or "", "since": since or "",
                                                                          "until": until or "", "province": province or ""})


@router.get("/profiles")
def profiles_page(request: Request):
    console = _console(request)
    console.user(request, "profiles")
    with console.sessions() as session:
        report = reports.profiles(session)
    return console.render(request, "profiles.html", report=report)


# --- imports -------------------------------------------------------------------------------------

@router.get("/imports")
def imports_page(request: Request):
    console = _console(request)
    console.user(request, "imports")
    return console.render(request, "imports.html")


@router.post("/imports")
async def upload(request: Request):
    from shared.operators.imports import import_leads

    console = _console(request)
    form = await console.check_csrf(request)
    console.user(request, "imports")
    upload: UploadFile | None = form.get("file")
    name = _file_name(getattr(upload, "filename", "") or "")
    if upload is None or not name.lower().endswith((".csv", ".xlsx")):
        return console.render(request, "import_result.html", status=400, error="file")
    console.upload_dir.mkdir(parents=True, exist_ok=True)
    path = console.upload_dir / f"{formatting.when(console.now())[:10].replace('/', '')}-{uuid.uuid4().hex[:6]}-{name}"
    path.write_bytes(await upload.read())
    summary = import_leads(path, console.new_publisher(), progress=False)
    console.audit(request, "import", path.name, None, "done",
                  f"rows {summary.rows}, published {summary.published}, rejected {summary.rejected}")
    return console.render(request, "import_result.html", summary=summary,
                          reject_name=summary.reject_file.name if summary.reject_file else None)


def _file_name(name: str) -> str:
    """The base name of an uploaded file, without folders or odd characters."""
    return re.sub(r"[^\w.\- ]", "_", name.replace("\\", "/").rsplit("/", 1)[-1])[:120]


@router.get("/imports/rejects/{name}")
def rejects(request: Request, name: str):
    console = _console(request)
    console.user(request, "imports")
    path = console.upload_dir / _file_name(name)
    if not name.endswith(".rejects.csv") or not path.is_file():
        raise Refused(404, "no-file")
    return FileResponse(path, media_type="text/csv", filename=path.name)


# --- administration, data protection ------------------------------------------------------------

@router.get("/audit")
def audit_page(request: Request, username: str | None = None):
    console = _console(request)
    console.user(request, "audit")
    with console.sessions() as session:
        rows = queries.audit_log(session, username or None)
    return console.render(request, "audit.html", rows=rows, username=username or "")


@router.get("/users")
def users_page(request: Request):
    console = _console(request)
    console.user(request, "users")
    with console.sessions() as session:
        users = list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))
    return console.render(request, "users.html", users=users)


IDENTIFIERS = ("phone", "email", "tax_code", "subscriber")


@router.get("/privacy")
def privacy_page(request: Request):
    return _privacy(request)


def _privacy(request: Request, status: int = 200, **context):
    """The open data-subject requests, overdue first, and the forms to erase or export a person."""
    console = _console(request)
    console.user(request, "privacy")
    with console.sessions() as session:
        open_requests = privacy.open_requests(session, console.now())
    return console.render(request, "privacy.html", status=status, requests=open_requests, identifiers=IDENTIFIERS,
                          **context)


async def _identifier(request: Request) -> tuple[str, str]:
    console = _console(request)
    form = await console.check_csrf(request)
    console.user(request, "privacy")
    kind, value = str(form.get("kind", "")), str(form.get("value", "")).strip()
    if kind not in IDENTIFIERS or not value:
        raise ValueError("identifier")
    return kind, value


class _Waited:
    """The CLI's operations publish and flush; the console's `publish` already waits for the broker."""

    def __init__(self, publish):
        self._publish, self.events = publish, []

    def publish(self, event_type: str, **fields):
        self.events.append(self._publish(event_type, **fields))
        return self.events[-1]

    def flush(self, timeout: float = 60) -> None:
        pass


@router.post("/privacy/erase")
async def erase(request: Request):
    """Erases a person through the same operation as `careflow privacy erase`; audited with the
    request and the event, never the identifier itself."""
    console = _console(request)
    publisher = _Waited(console.publish)
    try:
        kind, value = await _identifier(request)
        with console.sessions() as session:
            report = privacy.erase(session, publisher, console.settings, kind, value, console.now())
    except (ValueError, PrivacyKeyMissing) as exc:
        console.audit(request, "privacy:erase", None, None, "failed", type(exc).__name__)
        return _privacy(request, status=400, error=str(exc))
    console.audit(request, "privacy:erase", report.request_id, publisher.events[-1].envelope.event_id, "done", kind)
    return _privacy(request, erased=report)


@router.post("/privacy/access")
async def access_export(request: Request):
    """The access export of `careflow privacy access`, downloaded as JSON; audited like an erasure."""
    console = _console(request)
    try:
        kind, value = await _identifier(request)
        with console.sessions() as session:
            export = privacy.access(session, console.settings, kind, value, console.now())
    except (ValueError, PrivacyKeyMissing) as exc:
        console.audit(request, "privacy:access", None, None, "failed", type(exc).__name__)
        return _privacy(request, status=400, error=str(exc))
    console.audit(request, "privacy:access", export["request_id"], None, "done", kind)
    return Response(privacy.to_json(export), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="access-{export["request_id"]}.json"'})
