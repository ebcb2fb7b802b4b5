"""``elibrary init``: create or upgrade the database, the search index and the keys; load demo content."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from elibrary.cli_support import one_line_errors, runtime
from elibrary.migrate import upgrade_database


@click.command("init")
@with_appcontext
@click.option("--demo", is_flag=True, help="Load the demo collection (skipped if already loaded).")
@one_line_errors
def init_command(demo: bool) -> None:
    """Create or upgrade the database (migrations), search index and keys; --demo loads demo content."""
    rt = runtime()
    click.echo(f"database: {rt.db.engine.url.render_as_string(hide_password=True)}")
    upgrade_database(rt.db.engine)
    click.echo("database: up to date")
    click.echo(adopt_access_log(rt))
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
