"""Lượt thăm: the filtered visits list, a visit's page, review decisions and photos."""
from flask import flash, redirect, render_template, request, send_file, url_for

from server.services import photos, review
from server.web import svgmap
from server.web.forms import ReviewForm, VisitFilterForm
from server.web.office import bp
from server.web.session_auth import office_view


@bp.route("/visits")
@office_view()
def visits(me):
    """The visits in scope, newest first, filtered and paged by keyset (``after``)."""
    hamlets, teams, members, services = review.choices(me)
    form = VisitFilterForm(formdata=request.args)
    form.set_choices(hamlets, teams, members, services)
    page, next_url = None, None
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    if form.validate():
        page = review.list_visits(me, review.VisitFilter(**form.filters()),
                                  after=request.args.get("after"))
        if page.next_after:
            next_url = url_for("office.visits", **args, after=page.next_after)
    first_url = url_for("office.visits", **args) if request.args.get("after") else None
    return render_template("office/visits.html", form=form, page=page, next_url=next_url,
                           first_url=first_url, hamlets={h.id: h for h in hamlets}), \
        200 if page else 422


def _visit_page(me, visit_id, form, status=200):
    detail = review.detail(me, visit_id)
    points = [(detail.visit.location, "Vị trí lượt thăm")]  # drawn last: on top
    if detail.household is not None:
        points.insert(0, (detail.household.location, "Vị trí hộ khi đăng ký"))
    return render_template("office/visit.html", d=detail, form=form,
                           map=svgmap.draw(detail.hamlet.boundary, points)), status


@bp.route("/visits/<visit_id>")
@office_view()
def visit(me, visit_id):
    """One visit: services per person, photos, GPS on the hamlet map, history, review form."""
    form = ReviewForm()
    form.expected_state.data = review.visit_in_scope(me, visit_id).review_state
    return _visit_page(me, visit_id, form)


@bp.route("/visits/<visit_id>/review", methods=["POST"])
@office_view()
def review_visit(me, visit_id):
    """Record a decision: cần bổ sung, đã duyệt or không chấp nhận, with a comment."""
    form = ReviewForm()
    if not form.validate():
        return _visit_page(me, visit_id, form, 422)
    review.decide(me, visit_id, form.state.data, form.comment.data,
                  expected_state=form.expected_state.data or None)
    flash("Đã lưu quyết định duyệt.")
    return redirect(url_for("office.visit", visit_id=visit_id))


@bp.route("/visits/<visit_id>/photos/<photo_id>")
@office_view()
def photo(me, visit_id, photo_id):
    """A visit's photo, for a signed-in office user in scope."""
    return _send_photo(me, visit_id, photo_id, thumbnail=False)


@bp.route("/visits/<visit_id>/photos/<photo_id>/thumb")
@office_view()
def photo_thumb(me, visit_id, photo_id):
    """A visit photo's thumbnail."""
    return _send_photo(me, visit_id, photo_id, thumbnail=True)


def _send_photo(me, visit_id, photo_id, thumbnail):
    review.visit_in_scope(me, visit_id)  # 404, not 403, outside the scope
    path = photos.processed_file(me, visit_id, photo_id, thumbnail=thumbnail)
    return send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
