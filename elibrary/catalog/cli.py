"""``elibrary search reindex``."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from elibrary.catalog import indexing
from elibrary.catalog.models import Title, TitleStatus
from elibrary.cli_support import one_line_errors, progress_bar, runtime


@click.group("search", cls=AppGroup)
def search_group() -> None:
    """The search index."""


@search_group.command("reindex")
@one_line_errors
def reindex_command() -> None:
    """Rebuild the search index from the database, with progress."""
    rt = runtime()
    # Read in a read-only transaction: on SQLite a write transaction would block all writers meanwhile.
    # This server's workers wait meanwhile (they follow the log into this index), then apply what came after.
    with rt.search.positions.following(), rt.db.scope(write=False) as session:
        newest = indexing.newest_change(session)
        total = session.scalar(select(func.count()).select_from(Title).where(Title.status == TitleStatus.active))
        with progress_bar(total, "indexing") as bar:
            last = [0]

            def progress(done: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            count = indexing.rebuild_index(session, rt.search, rt.indexer.enrichers, progress)
        indexing.record_rebuild(rt.search, newest)
    click.echo(f"indexed {count} titles")


@search_group.command("reindex-text")
@one_line_errors
def reindex_text_command() -> None:
    """Rebuild the book-text index (本文検索) from the stored book files of the titles whose licences allow it."""
    rt = runtime()
    if rt.text_indexer is None:
        raise click.ClickException("no book-text index is configured")
    count = rt.text_indexer.rebuild()
    click.echo(f"indexed the text of {count} titles")


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(search_group)
