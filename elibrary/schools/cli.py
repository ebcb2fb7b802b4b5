"""``elibrary schools ...``: schools, roster import, the April roll-over."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from elibrary.cli_support import one_line_errors, runtime
from elibrary.schools import directory, rollover, services
from elibrary.schools.directory import Actor
from elibrary.schools.importing import ImportPlan, counts

CLI_ACTOR = Actor(None, "cli", None)


@click.group("schools", cls=AppGroup)
def schools_group() -> None:
    """Schools, their rosters and the April roll-over (年度更新)."""


@schools_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--kind", type=click.Choice(("elementary", "junior_high", "compulsory", "special_needs")), default="elementary", show_default=True)
@click.option("--furigana-max-grade", type=click.IntRange(0, 12), default=None,
              help="Ruby (furigana) on the interface up to this grade (default: 2 at elementary schools, 0 elsewhere).")
@one_line_errors
def add_command(code: str, name: str, kind: str, furigana_max_grade: int | None) -> None:
    """Register a school by its code (学校コード)."""
    rt = runtime()
    with rt.db.scope() as session:
        school = directory.add_school(session, code, name, kind)
        if furigana_max_grade is not None:
            school.furigana_max_grade = furigana_max_grade
        click.echo(f"school {school.code} added ({school.name})")


@schools_group.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "school_code", default=None, help="Only this school's rows (its members missing from the file are leaving).")
@click.option("--year", type=int, default=None, help="The 年度 (default: the roster's, else the current one).")
@click.option("--dry-run", is_flag=True, help="Print the diff and the rejected rows; write nothing.")
@one_line_errors
def import_roster_command(file: Path, school_code: str | None, year: int | None, dry_run: bool) -> None:
    """Create or update pupil and teacher accounts from a roster (CSV template or OneRoster 1.2 CSV zip)."""
    rt = runtime()
    data = file.read_bytes()
    passwords = None if dry_run else services.passwords_for(rt.db, rt.cipher, data, year=year, school_code=school_code)  # no lock held while hashing
    with rt.db.scope(write=not dry_run) as session:
        plan, result = services.import_roster(session, rt.cipher, data, CLI_ACTOR, year=year, school_code=school_code, dry_run=dry_run,
                                              passwords=passwords)
        if dry_run:
            session.rollback()
    _print_plan(plan, dry_run)
    if result is not None:
        _print_credentials(result)


@schools_group.command("link-teacher")
@click.argument("staff_email")
@click.argument("login_id")
@one_line_errors
def link_teacher_command(staff_email: str, login_id: str) -> None:
    """Link a teacher's staff account to their school account (same school): one sign-in then carries both."""
    from elibrary.schools import teacher_links

    rt = runtime()
    with rt.db.scope() as session:
        staff = teacher_links.link_teacher(session, staff_email, login_id, CLI_ACTOR)
        click.echo(f"{staff.email} ↔ {login_id}")


@schools_group.command("unlink-teacher")
@click.argument("staff_email")
@one_line_errors
def unlink_teacher_command(staff_email: str) -> None:
    """End the link of a teacher's staff account to their school account."""
    from elibrary.schools import teacher_links

    rt = runtime()
    with rt.db.scope() as session:
        ended = teacher_links.unlink_teacher(session, staff_email, CLI_ACTOR)
        click.echo(f"{staff_email}: " + ("unlinked" if ended else "had no link"))


@schools_group.command("export-roster")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=None, help="The 年度 (default: the current one).")
@click.option("--school", "school_code", default=None, help="Only this school.")
@one_line_errors
def export_roster_command(out: Path, year: int | None, school_code: str | None) -> None:
    """Write the year's roster with login ids (no names) in the CSV template's columns, for next year's classes."""
    from elibrary.db import utcnow
    from elibrary.schools import exporting

    rt = runtime()
    with rt.db.scope() as session:
        text = exporting.export_roster(session, CLI_ACTOR, year=year or directory.current_school_year(utcnow()), school_code=school_code)
    out.write_bytes(text.encode("utf-8-sig"))
    click.echo(f"{out}: {text.count(chr(10)) - 1} rows")


@schools_group.command("transfer")
@click.argument("login_id")
@click.option("--school", "school_code", required=True, help="The school the pupil moves to (転入先).")
@click.option("--grade", type=int, default=None)
@click.option("--class", "class_name", default=None, help="組")
@click.option("--number", type=int, default=None, help="出席番号")
@click.option("--year", type=int, default=None, help="The 年度 (default: the current one).")
@one_line_errors
def transfer_command(login_id: str, school_code: str, grade: int | None, class_name: str | None, number: int | None, year: int | None) -> None:
    """Move one member to another school of the city mid-year (転入); the login id, loans and holds stay."""
    from elibrary.schools import members

    rt = runtime()
    with rt.db.scope() as session:
        member = members.transfer(session, CLI_ACTOR, login_id, school_code, grade=grade, class_name=class_name, number=number, year=year)
        click.echo(f"{member.login_id} → {school_code}")


@schools_group.command("leave")
@click.argument("login_id")
@one_line_errors
def leave_command(login_id: str) -> None:
    """A member leaves the city's schools (転出): sign-in stops now, the account is erased tomorrow."""
    from elibrary.schools import members

    rt = runtime()
    with rt.db.scope() as session:
        member = members.leave(session, CLI_ACTOR, login_id)
        click.echo(f"{member.login_id} left (sign-in stopped)")


@schools_group.command("rollover")
@click.option("--year", type=int, required=True, help="The new 年度 (e.g. 2027 for April 2027).")
@click.option("--roster", "roster_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The new year's roster (入学, 転出/転入, new classes), imported in the same transaction.")
@click.option("--dry-run", is_flag=True, help="Show what would happen; write nothing.")
@one_line_errors
def rollover_command(year: int, roster_file: Path | None, dry_run: bool) -> None:
    """The April roll-over (年度更新): move up, graduate, and the new year's roster."""
    rt = runtime()
    until = rollover.graduate_until(rt.settings.get("ELIBRARY_SCHOOLS_GRADUATE_UNTIL"), year)
    data = roster_file.read_bytes() if roster_file else None
    passwords = services.passwords_for(rt.db, rt.cipher, data, year=year) if data and not dry_run else None  # no lock held while hashing
    with rt.db.scope(write=True) as session:
        roster = services.parse_roster(session, data) if data else None
        if dry_run:
            result = rollover.preview_rollover(session, rt.cipher, year, until=until, roster=roster)
            session.rollback()
        else:
            result = rollover.apply_rollover(session, rt.cipher, year, CLI_ACTOR, until=until, roster=roster, passwords=passwords)
    prefix = "dry run: " if dry_run else ""
    click.echo(f"{prefix}{result.from_year}→{result.to_year}年度: promoted {result.count('promote')}, graduated {result.count('graduate')} "
               f"(sign-in until {until}), teachers {result.count('teacher')}")
    if result.roster is not None:
        _print_plan(result.roster, dry_run)
    if result.imported is not None:
        _print_credentials(result.imported)


@schools_group.command("rollover-undo")
@one_line_errors
def rollover_undo_command() -> None:
    """Undo the newest roll-over (possible until a school account signs in after it)."""
    rt = runtime()
    with rt.db.scope() as session:
        row = rollover.undo_rollover(session, CLI_ACTOR)
        click.echo(f"undone: {row.from_year}→{row.to_year}年度")


def _print_credentials(result) -> None:
    if any(result.teacher_links):
        click.echo(f"teacher accounts linked {result.teacher_links[0]}, unlinked {result.teacher_links[1]} (教員の職員アカウントと学校アカウントの連携)")
    if result.credentials:
        click.echo("# new accounts: initial passwords are shown only now (ログインIDと初期パスワード: この一度だけ表示します)")
        click.echo("school,grade,class,number,role,login_id,password")
        for c in result.credentials:
            click.echo(f"{c.school_code},{c.grade or ''},{c.class_name or ''},{c.number or ''},{c.role},{c.login_id},{c.password}")


def _print_plan(plan: ImportPlan, dry_run: bool) -> None:
    n = counts(plan)
    prefix = "dry run: " if dry_run else ""
    click.echo(f"{prefix}{plan.year}年度 new {n['new']}, changed {n['changed']}, leaving {n['leaving']}, unchanged {n['unchanged']}, rejected {n['rejected']}")
    for change in plan.changed:
        click.echo(f"changed {change.login_id}: {'; '.join(change.differences)}")
    for leaving in plan.leaving:
        click.echo(f"leaving {leaving.login_id}: {leaving.school_code} {leaving.place}")
    if plan.leaving_held:
        click.echo("leaving members are kept because rows were rejected (除外された行があるため、離籍の処理は保留しました)")
    for problem in plan.rejected:
        click.echo(f"rejected line {problem.line}: {problem.message_ja}", err=True)


def register(cli: click.Group) -> None:
    """Add ``elibrary schools`` to the command line."""
    cli.add_command(schools_group)
