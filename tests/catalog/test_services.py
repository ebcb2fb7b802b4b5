import dataclasses
from datetime import date

import pytest
from sqlalchemy import func, select

from elibrary.catalog import services
from elibrary.catalog.models import Audience, BookFormat, Contributor, Subject, Title, TitleStatus
from elibrary.catalog.services import (
    ContributorCredit,
    SubjectEntry,
    TitleData,
    create_title,
    ensure_collection,
    get_title,
    new_arrivals,
    related_titles,
    title_data_of,
    update_title,
)
from elibrary.errors import Conflict, InvalidInput, NotFound
from tests.catalog.factories import make_title, next_isbn


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_create_title_normalises_everything(db_session):
    ensure_collection(db_session, "children", "児童書", "Children's books")
    title = create_title(
        db_session,
        TitleData(
            title="  こころ ",
            title_reading="こころ",
            series_title="名作文庫",
            series_reading="めいさく ぶんこ",
            volume="1",
            publisher="架空書房",
            published_on="2024/4/1",
            isbn="９７８－４－１０－１０１００１－４",
            ndc="９１３．６",
            audience="children",
            age_min="6",
            age_max=12,
            format="epub-fixed",
            accessibility=("ruby", "readAloud", "ruby"),
            contributors=(ContributorCredit("夏目漱石", "なつめ そうせき"), ContributorCredit("絵 花子", "エ ハナコ", "ill")),
            subjects=("小説", SubjectEntry("友情", "ゆうじょう", "ndlsh"), "小説"),
            collections=("children",),
        ),
    )
    assert title.id is not None
    assert title.title == "こころ"
    assert title.title_reading == "ココロ"
    assert title.series_reading == "メイサク ブンコ"
    assert title.published_on == date(2024, 4, 1)
    assert title.isbn == "9784101010014"
    assert title.ndc == "913.6"
    assert title.audience == Audience.children and (title.age_min, title.age_max) == (6, 12)
    assert title.format == BookFormat.epub_fixed and title.page_progression == "rtl"
    assert title.accessibility == ["ruby", "readAloud"]
    assert [(tc.contributor.name, tc.contributor.name_reading, tc.role_label) for tc in title.contributors] == [
        ("夏目漱石", "ナツメ ソウセキ", "著"),
        ("絵 花子", "エ ハナコ", "絵"),
    ]
    assert [(s.term, s.reading, s.scheme) for s in title.subjects] == [("小説", "", "keyword"), ("友情", "ユウジョウ", "ndlsh")]
    assert [c.code for c in title.collections] == ["children"]


def test_half_width_katakana_and_latin_readings_are_kept(db_session):
    title = make_title(db_session, title="ABCのうた", title_reading="ABC ﾉ ｳﾀ")
    assert title.title_reading == "ABC ノ ウタ"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"title": "   "}, "title", "タイトルを入力"),
        ({"title_reading": "心"}, "title_reading", "カタカナ"),
        ({"isbn": "978-4-10-101001-5"}, "isbn", "チェックディジット"),
        ({"ndc": "文学"}, "ndc", "NDC"),
        ({"published_on": "2024-13-01"}, "published_on", "出版日"),
        ({"audience": "adults"}, "audience", "対象"),
        ({"format": "mobi"}, "format", "形式"),
        ({"age_min": 12, "age_max": 6}, "age_min", "下限"),
        ({"age_min": -1}, "age_min", "0から120"),
        ({"age_max": "たくさん"}, "age_max", "0から120"),
        ({"page_count": 0}, "page_count", "ページ数"),
        ({"language": "日本語"}, "language", "言語"),
        ({"accessibility": ("flying",)}, "accessibility", "アクセシビリティ"),
        ({"contributors": (ContributorCredit("夏目漱石", "夏目"),)}, "contributors", "夏目漱石"),
        ({"contributors": (ContributorCredit("夏目漱石", "ナツメ", "xyz"),)}, "contributors", "役割"),
        ({"subjects": (SubjectEntry("友情", "友"),)}, "subjects", "件名"),
        ({"collections": ("nope",)}, "collections", "nope"),
        ({"title": "あ" * 501}, "title", "500文字"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(db_session, overrides, field, words):
    before = (count(db_session, Title), count(db_session, Contributor), count(db_session, Subject))
    with pytest.raises(InvalidInput) as info:
        make_title(db_session, **{"contributors": (ContributorCredit("新人 作家", "シンジン サッカ"),), "subjects": ("テスト",), **overrides})
    assert info.value.detail.get("field") == field
    assert words in info.value.message_ja
    assert info.value.message_en
    db_session.flush()
    assert (count(db_session, Title), count(db_session, Contributor), count(db_session, Subject)) == before


def test_duplicate_isbn_is_a_conflict(db_session):
    first = make_title(db_session)
    with pytest.raises(Conflict) as info:
        make_title(db_session, isbn=first.isbn[:3] + "-" + first.isbn[3:])
    assert str(first.id) in info.value.message_ja
    assert count(db_session, Title) == 1
    # updating a title with its own ISBN is fine
    update_title(db_session, first, dataclasses.replace(title_data_of(first), subtitle="改版"))
    assert first.subtitle == "改版"


def test_contributors_are_found_or_created_by_name_and_reading(db_session):
    a = make_title(db_session, contributors=(ContributorCredit("山田太郎", "やまだ たろう"),))
    b = make_title(db_session, contributors=(ContributorCredit("山田太郎", "ヤマダ タロウ"), ContributorCredit("山田太郎", "ヤマダ タロ")))
    assert a.contributors[0].contributor is b.contributors[0].contributor
    assert b.contributors[1].contributor is not a.contributors[0].contributor  # same name, another person
    assert count(db_session, Contributor) == 2


def test_update_replaces_credits_and_subjects_and_keeps_unchanged_rows(db_session):
    ensure_collection(db_session, "school", "学校", "School")
    title = make_title(db_session, subjects=("猫", "犬"))
    cat = title.subjects[0]
    data = dataclasses.replace(
        title_data_of(title),
        title="新しい題",
        subjects=(SubjectEntry("猫", "ねこ"), "鳥"),
        contributors=(ContributorCredit("訳 者", "ヤク シャ", "trl"),),
        collections=("school",),
    )
    update_title(db_session, title, data)
    db_session.expire_all()
    title = get_title(db_session, title.id)
    assert title.title == "新しい題"
    assert [(s.term, s.reading) for s in title.subjects] == [("猫", "ネコ"), ("鳥", "")]
    assert title.subjects[0].id == cat.id
    assert [(tc.contributor.name, tc.role) for tc in title.contributors] == [("訳 者", "trl")]
    assert [c.code for c in title.collections] == ["school"]


def test_failed_update_changes_nothing(db_session):
    title = make_title(db_session, title="元の題")
    with pytest.raises(InvalidInput):
        update_title(db_session, title, dataclasses.replace(title_data_of(title), title="新", isbn="123"))
    assert title.title == "元の題"


def test_withdraw_hides_and_reinstate_shows(db_session):
    title = make_title(db_session)
    services.withdraw_title(db_session, title)
    assert title.status == TitleStatus.withdrawn
    with pytest.raises(NotFound):
        get_title(db_session, title.id)
    assert get_title(db_session, title.id, include_withdrawn=True) is title
    assert title not in new_arrivals(db_session)
    services.reinstate_title(db_session, title)
    assert get_title(db_session, str(title.id)) is title


@pytest.mark.parametrize("bad_id", [999999, "abc", None])
def test_get_title_not_found(db_session, bad_id):
    with pytest.raises(NotFound):
        get_title(db_session, bad_id)


def test_related_titles_series_then_contributors_then_ndc(db_session):
    author = ContributorCredit("鈴木一郎", "スズキ イチロウ")
    other = ContributorCredit("佐藤花子", "サトウ ハナコ")
    v1 = make_title(db_session, series_title="星の旅", volume="1", contributors=(other,), ndc="913.6")
    v10 = make_title(db_session, series_title="星の旅", volume="10", contributors=(other,), ndc="913.6")
    v2 = make_title(db_session, series_title="星の旅", volume="2", contributors=(author,), ndc="913.6")
    undated = make_title(db_session, contributors=(author,), ndc="400")
    same_author = make_title(db_session, contributors=(author,), ndc="400", published_on="2020-01-01")
    same_ndc = make_title(db_session, contributors=(), ndc="913.6")
    unrelated = make_title(db_session, contributors=(), ndc="007")
    withdrawn = make_title(db_session, contributors=(author,), ndc="913.6")
    services.withdraw_title(db_session, withdrawn)
    related = related_titles(db_session, v2, limit=10)
    assert related[:2] == [v1, v10]
    assert same_author in related and same_ndc in related
    assert related.index(same_author) < related.index(undated) < related.index(same_ndc)  # newest first, undated last (both engines)
    assert unrelated not in related and withdrawn not in related and v2 not in related
    assert related_titles(db_session, v2, limit=2) == [v1, v10]
    assert [t.volume for t in services.series_volumes(db_session, "星の旅")] == ["1", "2", "10"]


def test_new_arrivals_newest_first_and_by_audience(db_session):
    general = make_title(db_session)
    kids = make_title(db_session, audience=Audience.children)
    assert new_arrivals(db_session, limit=10)[:2] == [kids, general]
    assert new_arrivals(db_session, limit=10, audience="children") == [kids]
    assert new_arrivals(db_session, limit=1) == [kids]
    with pytest.raises(InvalidInput):
        new_arrivals(db_session, audience="aliens")


def test_find_title_by_isbn_and_collections(db_session):
    isbn = next_isbn()
    title = make_title(db_session, isbn=isbn)
    assert services.find_title_by_isbn(db_session, f"{isbn[:3]}-{isbn[3:]}") is title
    assert services.find_title_by_isbn(db_session, "") is None
    first = ensure_collection(db_session, "local", "郷土資料", "Local history")
    assert ensure_collection(db_session, "local", "別名") is first
    assert [c.code for c in services.list_collections(db_session)] == ["local"]
    with pytest.raises(InvalidInput):
        ensure_collection(db_session, "Bad Code", "x")


def test_changes_queue_the_title_for_search(db_session):
    from elibrary.catalog.models import SearchQueueEntry

    title = make_title(db_session)
    queued = set(db_session.scalars(select(SearchQueueEntry.title_id)))
    assert title.id in queued


def test_contributor_added_meanwhile_by_another_transaction_is_reused(db_session, monkeypatch):
    """The unique (name, reading) row written by a concurrent import after our lookup is found, not duplicated."""
    from elibrary.catalog.services import find_or_create_contributor

    db_session.execute(Contributor.__table__.insert().values(name="同時 太郎", name_reading="ドウジ タロウ"))
    real_scalar = db_session.scalar
    calls = []

    def first_lookup_misses(*args, **kwargs):  # as if the other transaction committed just after our SELECT
        calls.append(args)
        return None if len(calls) == 1 else real_scalar(*args, **kwargs)

    monkeypatch.setattr(db_session, "scalar", first_lookup_misses)
    contributor = find_or_create_contributor(db_session, "同時 太郎", "どうじ たろう")
    monkeypatch.undo()
    assert len(calls) == 2 and contributor.id is not None and contributor.name_reading == "ドウジ タロウ"
    assert db_session.scalar(select(func.count()).select_from(Contributor).where(Contributor.name == "同時 太郎")) == 1
    make_title(db_session, contributors=(ContributorCredit("別人", "ベツジン"),))  # the session is still usable
