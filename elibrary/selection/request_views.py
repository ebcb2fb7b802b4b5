"""Purchase requests (リクエスト): the patron's page, and the librarians' grouped view."""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for

from elibrary.selection import lists, requests, suggestions
from elibrary.web.auth import current_patron, current_staff, patron_required, staff_required
from elibrary.web.i18n import t
from elibrary.web.transactions import db_session, runtime


def _requesters_shown() -> bool:
    """The library's policy: may selectors see who made a request (off by default, 図書館の自由)."""
    return bool(runtime().settings.get("ELIBRARY_SELECTION_SHOW_REQUESTERS"))

bp = Blueprint("purchase_requests", __name__, template_folder="templates")


@bp.route("/requests", methods=["GET", "POST"])
@patron_required
def patron_page():
    """A signed-in patron asks the library to buy a book, and sees their own requests."""
    session = db_session()
    patron = current_patron._get_current_object()
    if request.method == "POST":
        requests.make_request(session, patron, request.form.get("text", ""))
        flash(t("リクエストを受け付けました。", "Your request was received."), "info")
        return redirect(url_for("purchase_requests.patron_page"), code=303)
    return render_template("selection/patron_requests.html", mine=requests.my_requests(session, patron),
                           requesters_shown=_requesters_shown())


@bp.get("/staff/selection/requests")
@staff_required("admin", "librarian")
def staff_page():
    """Requests grouped by title with counts (who asked only where the library's policy shows it)."""
    session = db_session()
    staff = current_staff._get_current_object()
    return render_template("selection/requests.html", groups=requests.grouped_requests(session, staff),
                           lists=lists.all_lists(session, staff), requesters_shown=_requesters_shown())


@bp.post("/staff/selection/requests/requesters")
@staff_required("admin", "librarian")
def requesters_page():
    """Who asked for one title (POST: the look is an access to personal data, logged; never in a URL or a cache)."""
    key = request.form.get("key", "")[:300]
    shown = requests.requesters(db_session(), current_staff._get_current_object(), key, runtime().cipher,
                                shown_by_policy=_requesters_shown(), address=request.remote_addr)
    response = make_response(render_template("selection/requesters.html", key=key, requesters=shown))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/staff/selection/suggestions")
@staff_required("admin", "librarian")
def missed_searches():
    """Catalog searches that found nothing but match pool titles (aggregate counts; nobody's searches)."""
    from elibrary.db import utcnow
    from elibrary.usage.counters import tokyo_day

    session = db_session()
    found = suggestions.missed_searches(session, current_staff._get_current_object(), tokyo_day(utcnow()))
    return render_template("selection/suggestions.html", found=found, days=suggestions.WINDOW_DAYS)
