"""The book-text index's warm-up: a worker reads the index's files once in the background on its first open."""
from __future__ import annotations

from pathlib import Path

from elibrary.search.booktext import BookText
from elibrary.search.booktext_tantivy import WARM_CHUNK, WARM_ORDER, IndexWarmer, TantivyBookText

STORY = "むかしむかし、あるところにおじいさんとおばあさんがいました。" * 50


def _index_files(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.suffix in WARM_ORDER]


def test_a_worker_reads_the_index_once_on_its_first_open_and_answers_the_same(tmp_path):
    TantivyBookText(tmp_path / "booktext").replace([BookText(1, "a", STORY), BookText(2, "b", "別の本")])
    index = TantivyBookText(tmp_path / "booktext", warm_mb=64)
    assert index.warmer is None  # nothing is read before the index is used
    assert [hit.title_id for hit in index.search("おじいさん")] == [1]
    warmer = index.warmer
    assert warmer is not None and warmer.done.wait(10)
    total = sum(path.stat().st_size for path in _index_files(tmp_path / "booktext"))
    assert warmer.read_bytes == total > 0
    index.search("おばあさん")
    assert index.warmer is warmer  # once per process, not per search
    index.close()


def test_no_warm_up_unless_configured(tmp_path):
    index = TantivyBookText.from_settings({"ELIBRARY_BOOKTEXT_PATH": str(tmp_path / "booktext")})
    index.replace([BookText(1, "a", STORY)])
    assert index.search("おじいさん") and index.warmer is None
    warmed = TantivyBookText.from_settings({"ELIBRARY_BOOKTEXT_PATH": str(tmp_path / "booktext"), "ELIBRARY_BOOKTEXT_WARM_MB": 1})
    warmed.status()
    assert warmed.warmer is not None and warmed.warmer.budget == 1024 * 1024
    warmed.close()


def test_the_read_is_bounded_and_starts_with_the_term_dictionaries(tmp_path):
    index = TantivyBookText(tmp_path / "booktext")
    index.replace([BookText(n, str(n), STORY * 3) for n in range(1, 30)])
    warmer = IndexWarmer(tmp_path / "booktext", budget=1)
    files = warmer.files()
    assert files[0].suffix == ".term" and {path.suffix for path in files} <= set(WARM_ORDER)
    assert ".store" in {path.suffix for path in files} and "meta.json" not in {path.name for path in files}
    warmer.start()
    assert warmer.done.wait(10)
    assert 0 < warmer.read_bytes <= min(WARM_CHUNK, files[0].stat().st_size)  # one read of the first file, then the budget stops it


def test_a_missing_folder_or_a_stop_ends_the_warm_up_quietly(tmp_path):
    gone = IndexWarmer(tmp_path / "missing", budget=10 * WARM_CHUNK)
    gone.start()
    assert gone.done.wait(10) and gone.read_bytes == 0
    index = TantivyBookText(tmp_path / "booktext", warm_mb=64)
    index.replace([BookText(1, "a", STORY)])  # writing does not start it: a search or a status does
    assert index.warmer is None
    index.status()
    index.close()  # stops a warm-up under way
    assert index.warmer is not None and index.warmer.done.wait(10)


def test_a_worker_starts_the_warm_up_with_its_first_request_not_its_first_text_search(tmp_path):
    from elibrary.catalog.text_indexing import TextIndexer

    TantivyBookText(tmp_path / "booktext").replace([BookText(1, "a", STORY)])
    index = TantivyBookText(tmp_path / "booktext", warm_mb=64)
    indexer = TextIndexer(lambda: None, index, storage=None, searchable=None, synchronous=True)
    indexer.start_following()  # what each worker's first request does
    warmer = index.warmer
    assert warmer is not None and warmer.done.wait(10) and warmer.read_bytes > 0
    indexer.start_following()
    assert index.warmer is warmer  # once per process
    index.close()
