"""Bad input never breaks a search: syntax characters are text, long queries are cut, odd filters are safe."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elibrary.search.base import MAX_QUERY_LENGTH, SearchQuery
from elibrary.search.memory import MemorySearch
from tests.search.conftest import CATALOG, doc


@pytest.fixture
def filled(backend):
    backend.upsert(CATALOG)
    return backend


SYNTAX = ["AND", "OR", "NOT", "*", "?", "(", ")", ":", '"', "~", "^", "[", "]", "{", "}", "\\", "title:猫", "猫*",
          "猫~2", "猫^3", "[a TO z]", "{}", '"unterminated', "(((", "\\\\", "*:*", "-猫", "+猫", "猫 AND", "NOT 猫", "/regex/"]


@pytest.mark.parametrize("query", SYNTAX)
def test_query_syntax_is_plain_text(filled, query):
    result = filled.search(SearchQuery(text=query))
    assert result.total == len(result.ids) or result.total_is_capped
    assert set(result.ids) <= {d.id for d in CATALOG}


def test_syntax_characters_around_a_word_are_ignored(filled):
    for query in ['"猫"', "(猫)", "猫*", "猫?", "[猫]", "{猫}", "猫^", "猫~", "\\猫"]:
        assert sorted(filled.search(SearchQuery(text=query)).ids) == [1, 2], query


def test_operator_words_are_words(backend):
    backend.upsert([doc(1, "War AND Peace"), doc(2, "Peace")])
    assert sorted(backend.search(SearchQuery(text="and")).ids) == [1]
    assert sorted(backend.search(SearchQuery(text="peace NOT war")).ids) == []  # "not" is a word, absent


def test_ten_thousand_character_query_is_cut_not_refused(filled):
    result = filled.search(SearchQuery(text="猫" + "あ" * 9_999))
    assert result.ids == []
    long_but_matching = "猫 " + " ".join(["猫"] * 5_000)
    assert sorted(filled.search(SearchQuery(text=long_but_matching)).ids) == [1, 2]


def test_query_is_cut_at_the_maximum_length(filled):
    # The word after the cut would match nothing; it is never looked at.
    text = "猫" + " " * (MAX_QUERY_LENGTH - 1) + "存在しない語"
    assert sorted(filled.search(SearchQuery(text=text)).ids) == [1, 2]


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "・・・", "、。！？", "---", "\u200b", "\x00"])
def test_empty_or_punctuation_only_query_returns_everything(filled, query):
    result = filled.search(SearchQuery(text=query))
    assert result.total == len(CATALOG)


def test_odd_windows(filled):
    assert filled.search(SearchQuery(offset=-5, limit=2)).ids == filled.search(SearchQuery(limit=2)).ids
    assert filled.search(SearchQuery(limit=0)).ids == []
    assert filled.search(SearchQuery(limit=-1)).total == len(CATALOG)


_memory = MemorySearch()
_memory.upsert(CATALOG)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_is_a_valid_query(filled, text):
    result = filled.search(SearchQuery(text=text))
    assert set(result.ids) <= {d.id for d in CATALOG}
    # The fake and the engine agree on every input.
    assert sorted(result.ids) == sorted(_memory.search(SearchQuery(text=text)).ids)


def test_a_long_run_is_matched_by_a_bounded_number_of_bigrams(backend):
    from elibrary.search.documents import MAX_RUN_BIGRAMS, query_units

    sentence = "図書館で本を借りて家で読むのが好きな子どもたちのための新しい読書の案内を集めた一冊です" * 2
    [unit] = query_units(sentence)
    assert len(unit) == MAX_RUN_BIGRAMS
    assert unit[0] == [("text", "図書")] and unit[-1] == [("text", "です")]
    assert len(query_units("猫 " * 90)) == 1  # a repeated word is one unit
    backend.upsert([doc(1, "読書案内", description=sentence), doc(2, "別の本", description=sentence[:40])])
    assert backend.search(SearchQuery(text=sentence[:150])).ids == [1]
