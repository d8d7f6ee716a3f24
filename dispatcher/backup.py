"""`onewindow backup` and `onewindow restore`: the SQLite store, copied while the hub runs.

A backup is SQLite's online backup API in one step: one read transaction on a WAL
snapshot, so the copy is consistent (every event with its projection, as of one
commit) and the hub's writers never wait for it. The copy is written beside its
target, switched out of WAL to a single self-contained file, checked
(``integrity_check``, a OneWindow store of a known schema version) and only then
renamed into place: a failed or interrupted backup leaves no file that looks whole.

A restore refuses a store that a process (a running hub) has open — SQLite's own
sign of life, the shared lock every connection holds on the ``-shm`` file — and holds
that lock itself while it swaps. It checks the backup before it touches anything,
copies it in the same way, and keeps the store it replaces beside it
(``hall.db.before-restore-…``, with its ``-wal``), so a restore is never the loss of
a store. PostgreSQL stores are backed up with pg_dump (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from .argtypes import count
from .store.migrate import SCHEMA_VERSION, too_new
from .store.schema import events, schema_version

SQLITE_MAGIC = b"SQLite format 3\x00"
_SHM_DMS_BYTE = 128   # SQLite's unix VFS: every open connection holds a shared lock here


class BackupError(Exception):
    """An operator mistake or a refusal; the message is the one line after ``error:``."""


@dataclass(frozen=True)
class StoreFacts:
    version: int
    events: int
    last_seq: int
    day: str | None
    tickets_today: int

    def line(self) -> str:
        day = f"day {self.day}, {self.tickets_today} tickets that day" if self.day else "no day"
        return f"schema {self.version}, {self.events} events up to seq {self.last_seq}, {day}"


# ------------------------------------------------------------------ where the store is

def sqlite_path(db: str | None, data: str, flag_hint: str) -> Path:
    """The SQLite file of ``--db URL`` or ``--data DIR`` (as `onewindow serve` names it)."""
    if db is None:
        return Path(data) / "hall.db"
    try:
        url = sa.make_url(db)
    except sa.exc.ArgumentError:
        raise BackupError(f"--db {db}: not a database URL; expected sqlite:///FILE") from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "postgresql":
        raise BackupError(f"--db {shown}: {flag_hint} handles the SQLite store only; for "
                          "PostgreSQL use pg_dump and pg_restore (docs/deployment.md#backups)")
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(f"--db {shown}: expected sqlite:///FILE")
    return Path(url.database).expanduser()


# ------------------------------------------------------------------ reading a store

def _open_existing(path: Path, what: str, mode: str = "rw") -> sqlite3.Connection:
    if path.is_dir():
        raise BackupError(f"{what} {path}: a folder, not a SQLite file")
    if not path.is_file():
        hint = " (is --data or --db the hub's?)" if what == "store" else ""
        raise BackupError(f"{what} {path}: no such file{hint}")
    try:
        with path.open("rb") as head:
            magic = head.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None
    if magic != SQLITE_MAGIC:
        raise BackupError(f"{what} {path}: not a SQLite database")
    return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=10,
                           isolation_level=None)


def read_facts(conn: sqlite3.Connection, what: str, path: Path) -> StoreFacts:
    """What the store holds; BackupError when it is no OneWindow store this code knows."""
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                            "WHERE type = 'table'")}
        if events.name not in names or "tickets" not in names:
            raise BackupError(f"{what} {path}: not a OneWindow store (no events table)")
        version = 1
        if schema_version.name in names:
            version = conn.execute(f"SELECT max(version) FROM {schema_version.name}"
                                   ).fetchone()[0] or 1
        if version > SCHEMA_VERSION:
            raise BackupError(f"{what} {path}: {too_new(version)}")
        count, last = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM events"
                                   ).fetchone()
        day = conn.execute("SELECT day FROM events WHERE name = 'day_opened' "
                           "ORDER BY seq DESC LIMIT 1").fetchone()
        today = day[0] if day else None
        tickets = conn.execute("SELECT count(*) FROM tickets WHERE day = ?", (today,)
                               ).fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} {path}: cannot read it: {exc}") from None
    return StoreFacts(int(version), count, last, today, tickets)


def _check_whole(conn: sqlite3.Connection, what: str, path: Path) -> None:
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} {path}: damaged: {exc}") from None
    if problems != ["ok"]:
        raise BackupError(f"{what} {path}: damaged: {problems[0]}")


# ------------------------------------------------------------------ copying

def _copy(source: sqlite3.Connection, target: Path) -> None:
    """The whole of ``source`` as of one snapshot into a new single file ``target``."""
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(dest)   # pages=-1: one step, one read transaction on the source
        dest.execute("PRAGMA journal_mode=DELETE")   # one file, no -wal beside it
    finally:
        dest.close()
    with target.open("rb") as copy:
        os.fsync(copy.fileno())


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":   # Windows opens no folder for fsync; NTFS journals the rename
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scratch(beside: Path) -> Path:
    return beside.with_name(f".{beside.name}.partial-{os.getpid()}")


def _copy_checked(source: sqlite3.Connection, target: Path, what: str
                  ) -> tuple[Path, StoreFacts]:
    """Copy into a scratch file beside ``target`` and check the copy; return both."""
    scratch = _scratch(target)
    scratch.unlink(missing_ok=True)
    try:
        try:
            _copy(source, scratch)
        except (sqlite3.Error, OSError) as exc:   # a full disk, a folder gone
            raise BackupError(f"cannot write {target}: {exc}") from None
        copy = sqlite3.connect(f"file:{scratch}?mode=ro", uri=True)
        try:
            _check_whole(copy, what, scratch)
            facts = read_facts(copy, what, scratch)
        finally:
            copy.close()
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return scratch, facts


def backup(store: Path, out: Path, *, force: bool = False) -> StoreFacts:
    """Copy the store at ``store`` (live or not) to ``out``."""
    if out.is_dir():
        raise BackupError(f"--out {out}: a folder; name the backup file, like "
                          f"{out / 'hall-YYYYMMDD.db'}")
    if out.exists() and not force:
        raise BackupError(f"--out {out}: the file exists; give --force to replace it")
    _make_folder(out.parent, "--out")
    source = _open_existing(store, "store")
    try:
        if out.exists() and out.resolve() == store.resolve():
            raise BackupError(f"--out {out}: that is the store itself")
        read_facts(source, "store", store)
        scratch, facts = _copy_checked(source, out, "backup")
    finally:
        source.close()
    try:
        _put(scratch, out, force)
    finally:
        scratch.unlink(missing_ok=True)
    _fsync_folder(out.parent)
    return facts


def _put(scratch: Path, out: Path, force: bool) -> None:
    """Rename the checked copy to its name; without ``force`` never over a file."""
    exists = BackupError(f"--out {out}: the file exists; give --force to replace it")
    try:
        if force:
            os.replace(scratch, out)
            return
        try:
            os.link(scratch, out)   # fails if a file appeared there meanwhile
        except FileExistsError:
            raise exists from None
        except OSError:   # a share without hard links: check, then rename
            if out.exists():
                raise exists from None
            os.replace(scratch, out)
    except OSError as exc:
        raise BackupError(f"--out {out}: cannot write it: {exc.strerror or exc}") from None


def _make_folder(folder: Path, flag: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise BackupError(f"{flag} {folder}: a file is in the way, not a folder") from None
    except OSError as exc:
        raise BackupError(f"{flag} {folder}: cannot create the folder: "
                          f"{exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"{flag} {folder}: the folder is not writable")


# ------------------------------------------------------------------ restoring

@contextlib.contextmanager
def unused(store: Path) -> Iterator[None]:
    """Hold the store against any process opening it; BackupError if one has it open.

    Every SQLite connection to a WAL database holds a shared lock on one byte of its
    ``-shm`` file for as long as it is open (the hub keeps its connections open). An
    exclusive lock on that byte is granted only when no connection holds it, and
    while we hold it a hub starting up cannot open the store."""
    try:
        import fcntl
    except ImportError:   # Windows: a store a process has open cannot be renamed (_swap)
        yield
        return
    shm = store.with_name(store.name + "-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:   # never opened in WAL mode, or closed cleanly
        yield
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
        except OSError:
            raise BackupError(f"store {store}: in use by a running process (the hub?); "
                              "stop it first (systemctl stop onewindow-hub), then "
                              "restore") from None
        yield
    finally:
        os.close(fd)   # releases the lock


def restore(backup_file: Path, store: Path) -> tuple[StoreFacts, Path | None]:
    """Replace the store at ``store`` with ``backup_file``; return what it now holds and
    where the replaced store was kept (None: there was none)."""
    source = _open_existing(backup_file, "--from", "ro")
    try:
        if store.exists() and store.resolve() == backup_file.resolve():
            raise BackupError(f"--from {backup_file}: that is the store itself")
        _check_whole(source, "--from", backup_file)
        read_facts(source, "--from", backup_file)
        _make_folder(store.parent, "--data")
        with unused(store):
            scratch, facts = _copy_checked(source, store, "--from")
            try:
                _same_owner(scratch, store)
                kept = _swap(scratch, store)
            finally:
                scratch.unlink(missing_ok=True)
            _fsync_folder(store.parent)
    finally:
        source.close()
    return facts, kept


def _same_owner(new: Path, store: Path) -> None:
    """Run as root, the restored file gets the owner and mode of the store it replaces
    (or of its folder): the hub's own user must be able to write it."""
    if getattr(os, "geteuid", lambda: 1)() != 0:
        return
    like = store if store.exists() else store.parent
    info = like.stat()
    os.chown(new, info.st_uid, info.st_gid)
    if like == store:
        os.chmod(new, info.st_mode & 0o777)


def _swap(scratch: Path, store: Path) -> Path | None:
    """Set the store aside and put the checked copy in its place; on a failure put the
    store back, so no hub ever starts on a missing store (it would begin a new one)."""
    try:
        kept = _set_aside(store)
    except OSError as exc:
        raise BackupError(f"store {store}: cannot set it aside: {exc.strerror or exc}"
                          ) from None
    try:
        os.replace(scratch, store)
    except OSError as exc:
        if kept is not None:
            os.replace(kept, store)
            wal = kept.with_name(kept.name + "-wal")
            if wal.exists():
                os.replace(wal, store.with_name(store.name + "-wal"))
        raise BackupError(f"store {store}: cannot put the backup there: "
                          f"{exc.strerror or exc}") from None
    return kept


def _set_aside(store: Path) -> Path | None:
    """Rename the store and its -wal together (SQLite finds a -wal by the name), drop
    its -shm (rebuilt on open); the next start sees only the restored file."""
    if not store.exists():
        for extra in ("-wal", "-shm", "-journal"):
            store.with_name(store.name + extra).unlink(missing_ok=True)
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    kept = store.with_name(f"{store.name}.before-restore-{stamp}")
    for n in range(2, 1000):
        if not kept.exists():
            break
        kept = store.with_name(f"{store.name}.before-restore-{stamp}-{n}")
    wal = store.with_name(store.name + "-wal")
    if wal.exists():
        os.replace(wal, kept.with_name(kept.name + "-wal"))
    os.replace(store, kept)
    store.with_name(store.name + "-shm").unlink(missing_ok=True)
    store.with_name(store.name + "-journal").unlink(missing_ok=True)
    return kept


# ------------------------------------------------------------------ the commands

def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def dated(pattern: str, now: time.struct_time | None = None) -> Path:
    """``--out`` with its strftime fields (%Y%m%d-%H%M) filled in with the local time."""
    try:
        return Path(time.strftime(pattern, now or time.localtime()))
    except ValueError as exc:
        raise BackupError(f"--out {pattern}: {exc}") from None


def prune(pattern: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups named by the dated ``pattern``."""
    shape = re.sub(r"(%.)+", "*", Path(pattern).name)
    found = [p for p in Path(pattern).parent.glob(shape) if p.is_file()]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in found[keep:]:
        old.unlink()
    return found[keep:]


def _backup_command(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        if args.keep is not None and "%" not in Path(args.out).name:
            raise BackupError(f"--keep {args.keep}: needs a dated --out (the date in the "
                              "file's name), like /var/backups/onewindow/hall-%Y%m%d-%H%M.db")
        out = dated(args.out)
        store = sqlite_path(args.db, args.data, "onewindow backup")
        facts = backup(store, out, force=args.force)
    except BackupError as exc:
        return _fail(str(exc))
    size = out.stat().st_size / 1e6
    print(f"backed up {store} to {out}: {facts.line()}; {size:.1f} MB in "
          f"{time.monotonic() - started:.2f} s")
    if args.keep is not None:
        for old in prune(args.out, args.keep):
            print(f"deleted the older backup {old}")
    return 0


def _restore_command(args: argparse.Namespace) -> int:
    try:
        store = sqlite_path(args.db, args.data, "onewindow restore")
        facts, kept = restore(Path(args.source), store)
    except BackupError as exc:
        return _fail(str(exc))
    print(f"restored {args.source} into {store}: {facts.line()}")
    if kept is not None:
        print(f"the store it replaced is kept as {kept}")
    print("start the hub: it opens the restored store (and brings an older schema up to "
          "date) and the day goes on from its last number")
    return 0


def _store_flags(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="URL", help="the store, sqlite:///FILE (as given "
                       "to serve --db)")
    where.add_argument("--data", default="data", metavar="DIR", help="the data directory "
                       "of serve --data: DIR/hall.db (default: data)")


def register(sub: argparse._SubParsersAction) -> None:
    back = sub.add_parser("backup", help="copy the SQLite store, safely while the hub "
                          "runs and writes (docs/deployment.md#backups)")
    _store_flags(back)
    back.add_argument("--out", required=True, metavar="FILE", help="the backup file to "
                      "write (a single SQLite file); strftime fields are filled in with "
                      "the local time: hall-%%Y%%m%%d-%%H%%M.db")
    back.add_argument("--force", action="store_true", help="replace --out if it exists")
    back.add_argument("--keep", type=count(1), metavar="N", help="with a dated --out: "
                      "keep the newest N backups of that name, delete the older ones")
    back.set_defaults(handler=_backup_command)

    rest = sub.add_parser("restore", help="put a backup in place of the store, with the "
                          "hub stopped; the replaced store is kept beside it")
    rest.add_argument("--from", dest="source", required=True, metavar="FILE",
                      help="a file `onewindow backup` wrote")
    _store_flags(rest)
    rest.set_defaults(handler=_restore_command)
