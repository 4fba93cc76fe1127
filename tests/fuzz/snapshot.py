"""Every row of every table, read on a connection of its own (committed state only).

The fuzz world is a few dozen rows, so reading it all after each example costs a few
milliseconds and needs no assumption about what a request may touch. The snapshot taken
after one example is the "before" of the next.
"""

from marketplace.extensions import db

# Reference data no request writes.
SKIP_TABLES = {"cpv_codes", "alembic_version"}

# Columns a rejected request may legitimately change, each with its reason:
IGNORED_ON_REJECT = {
    # The API records that a token was used, whatever the request then does.
    ("api_tokens", "last_used_at"),
    # Failed logins are counted per account in the database (SECURITY.md 2): a refused
    # login must change them.
    ("users", "failed_login_count"),
    ("users", "locked_until"),
}

Snapshot = dict[str, dict[tuple, dict]]


def take() -> Snapshot:
    """Raw DB-API reads (values as the driver returns them): a few milliseconds."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in SKIP_TABLES]
    out: Snapshot = {}
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table.name}"')  # our own table names
            names = [d[0] for d in cursor.description]
            keys = [names.index(c.name) for c in table.primary_key.columns] or range(len(names))
            out[table.name] = {tuple(row[k] for k in keys): dict(zip(names, row, strict=True))
                               for row in cursor.fetchall()}
        cursor.close()
        connection.rollback()
    finally:
        connection.close()
    return out


def differences(before: Snapshot, after: Snapshot, *, ignore=frozenset()) -> list[str]:
    """Human-readable changes: added and removed rows, changed columns of kept rows."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        for key in new.keys() - old.keys():
            found.append(f"{name}{list(key)} added")
        for key in old.keys() - new.keys():
            found.append(f"{name}{list(key)} removed")
        for key in old.keys() & new.keys():
            for column, value in new[key].items():
                if (name, column) in ignore:
                    continue
                if old[key].get(column) != value:
                    found.append(f"{name}{list(key)}.{column}: {old[key].get(column)!r:.80} "
                                 f"-> {value!r:.80}")
    return found


def changed_values(before: Snapshot, after: Snapshot) -> list[tuple[str, str, object]]:
    """(table, column, new value) for each column changed on a row kept from before."""
    changed = []
    for name, old in before.items():
        new = after.get(name, {})
        for key in old.keys() & new.keys():
            for column, value in new[key].items():
                if old[key].get(column) != value:
                    changed.append((name, column, value))
    return changed
