"""``elibrary init``: create or upgrade the database, the search index and the keys; load demo content.

A search index that an older version wrote in a format this one cannot read is rebuilt here, with progress.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from elibrary.cli_support import one_line_errors, runtime
from elibrary.migrate import upgrade_database, upgrade_expand_only


@click.command("init")
@with_appcontext
@click.option("--demo", is_flag=True, help="Load the demo collection (skipped if already loaded).")
@click.option("--expand-only", is_flag=True, help="Rolling upgrade: apply only the migrations the running old version can live with.")
@one_line_errors
def init_command(demo: bool, expand_only: bool) -> None:
    """Create or upgrade the database (migrations), search index and keys; --demo loads demo content."""
    rt = runtime()
    click.echo(f"database: {rt.db.engine.url.render_as_string(hide_password=True)}")
    if expand_only:
        held = upgrade_expand_only(rt.db.engine)
        click.echo("database: expand steps applied; " + (f"held back until every server runs this version: {', '.join(held)}"
                                                          if held else "nothing held back (run elibrary init once more after the roll-out)"))
    else:
        upgrade_database(rt.db.engine)
        click.echo("database: up to date")
    click.echo(adopt_access_log(rt))
    if rt.search.outdated():  # written by the version before this upgrade: rebuilt here rather than by the first worker
        from elibrary.catalog.cli import reindex_command

        click.echo("search index: written by an older version, rebuilding")
        click.get_current_context().invoke(reindex_command)
    status = rt.search.status()
    click.echo(f"search index: {'ok' if status.get('ok') else 'NOT OK ' + str(status)}")
    if demo:
        from elibrary.demo import load_demo

        with rt.db.scope() as session:
            added = load_demo(session, rt, echo=click.echo)
        rt.indexer.run_once()
        click.echo(f"demo content: {added} titles added" if added else "demo content: already loaded")


def adopt_access_log(rt) -> str:
    """Bring a pre-key access log under the audit key (once) and anchor it; the line to print."""
    from elibrary.audit.adopt import adopt

    with rt.db.scope() as session:
        adoption = adopt(session, rt.audit)
    if adoption.anchor is not None:
        rt.audit.write_anchor(adoption.anchor)
    return adoption.message


def register(cli: click.Group) -> None:
    """Add the commands."""
    cli.add_command(init_command)
