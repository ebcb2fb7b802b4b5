import pytest

from elibrary.catalog import services
from elibrary.catalog.shelves import add_to_shelf, create_shelf, get_shelf, public_shelves, remove_from_shelf, shelf_titles
from elibrary.errors import InvalidInput, NotFound
from tests.catalog.factories import make_title


def test_shelves_in_order_with_children_corner(db_session):
    feature = create_shelf(db_session, "feature", "今月の特集", name_en="This month")
    kids = create_shelf(db_session, "kids", "こどものへや", audience="children")
    hidden = create_shelf(db_session, "draft", "準備中", is_public=False)
    assert feature.position < kids.position < hidden.position
    assert public_shelves(db_session) == [feature, kids]
    assert public_shelves(db_session, audience="children") == [kids]
    assert get_shelf(db_session, "draft", include_private=True) is hidden
    with pytest.raises(NotFound):
        get_shelf(db_session, "draft")
    with pytest.raises(NotFound):
        get_shelf(db_session, "nope")


def test_add_move_remove(db_session):
    shelf = create_shelf(db_session, "feature", "今月の特集")
    a, b, c = (make_title(db_session) for _ in range(3))
    for title in (a, b, c):
        add_to_shelf(db_session, shelf, title)
    add_to_shelf(db_session, shelf, a)  # already there: unchanged
    assert shelf_titles(shelf) == [a, b, c]
    add_to_shelf(db_session, shelf, c, position=0)
    db_session.expire(shelf)
    assert shelf_titles(shelf) == [c, a, b]
    remove_from_shelf(db_session, shelf, a)
    remove_from_shelf(db_session, shelf, a)
    assert shelf_titles(shelf) == [c, b]
    services.withdraw_title(db_session, b)
    assert shelf_titles(shelf) == [c]
    assert shelf_titles(shelf, limit=0) == []


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("Bad Slug", "x"), {}, "slug"),
        (("ok", "  "), {}, "name"),
        (("ok", "x"), {"audience": "aliens"}, "audience"),
    ],
)
def test_bad_shelves_refused(db_session, args, kwargs, field):
    with pytest.raises(InvalidInput) as info:
        create_shelf(db_session, *args, **kwargs)
    assert info.value.detail["field"] == field


def test_duplicate_slug_refused(db_session):
    create_shelf(db_session, "feature", "特集")
    with pytest.raises(InvalidInput):
        create_shelf(db_session, "feature", "特集2")
