"""The PostgreSQL store's schema, version by version (DESIGN.md section 10): the tables
storage/postgresql.py describes, made and migrated by `migrate`, and recorded in the table
`schema_version`."""

from __future__ import annotations

from complaintforms.storage.base import GENESIS

# Schema migrations take turns on this advisory lock key (per database).
MIGRATE_LOCK = 0x636F_6D70_0002

# -- the schema, version by version ----------------------------------------------------------------
# Each entry is the statements that bring the schema from the version before to its own
# number; `migrate` applies the missing ones in order, each version in one transaction. A
# new version is appended here, never an old one changed.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """
            CREATE SEQUENCE records_ord_seq
            """,
            """
            CREATE TABLE records (
                collection text COLLATE "C" NOT NULL,
                key        text COLLATE "C" NOT NULL,
                partition  text COLLATE "C" NOT NULL,
                ord        bigint NOT NULL DEFAULT nextval('records_ord_seq'),
                status     text COLLATE "C",
                phone      text COLLATE "C",
                name       text,
                body       json NOT NULL,
                PRIMARY KEY (collection, key)
            )
            """,
            "ALTER SEQUENCE records_ord_seq OWNED BY records.ord",
            "CREATE INDEX records_by_month ON records (collection, partition, ord)",
            "CREATE INDEX records_by_status ON records (collection, status, partition)",
            # A phone's last digits: its reversed digits begin with the reversed query.
            """
            CREATE INDEX records_by_phone ON records (reverse(phone))
                WHERE collection = 'cases' AND phone IS NOT NULL
            """,
            """
            CREATE TABLE name_grams (
                collection text COLLATE "C" NOT NULL DEFAULT 'cases'
                    CHECK (collection = 'cases'),
                case_no    text COLLATE "C" NOT NULL,
                gram       text COLLATE "C" NOT NULL,
                PRIMARY KEY (gram, case_no),
                FOREIGN KEY (collection, case_no) REFERENCES records (collection, key)
                    ON DELETE CASCADE
            )
            """,
            "CREATE INDEX name_grams_by_case ON name_grams (case_no)",
            """
            CREATE TABLE counters (
                name  text COLLATE "C" PRIMARY KEY,
                value bigint NOT NULL CHECK (value >= 0)
            )
            """,
            """
            CREATE TABLE doc_serial (
                one   boolean PRIMARY KEY DEFAULT true CHECK (one),
                value bigint NOT NULL CHECK (value >= 0)
            )
            """,
            "INSERT INTO doc_serial (one, value) VALUES (true, 0)",
            """
            CREATE TABLE files (
                path      text COLLATE "C" PRIMARY KEY,
                data      bytea NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE audit (
                seq      bigint PRIMARY KEY CHECK (seq > 0),
                month    text COLLATE "C" NOT NULL,
                at       text NOT NULL,
                actor    text,
                action   text NOT NULL,
                case_key text COLLATE "C",
                prev     text NOT NULL,
                hash     text NOT NULL UNIQUE,
                body     json NOT NULL
            )
            """,
            "CREATE INDEX audit_by_case ON audit (case_key, seq)",
            "CREATE INDEX audit_by_month ON audit (month, seq)",
            """
            CREATE TABLE audit_head (
                one   boolean PRIMARY KEY DEFAULT true CHECK (one),
                seq   bigint NOT NULL,
                hash  text NOT NULL,
                month text COLLATE "C" NOT NULL
            )
            """,
            f"INSERT INTO audit_head (one, seq, hash, month) VALUES (true, 0, '{GENESIS}', '')",
            """
            CREATE FUNCTION cf_audit_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """,
            """
            CREATE TRIGGER audit_append_only
                BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
                FOR EACH STATEMENT EXECUTE FUNCTION cf_audit_append_only()
            """,
            # An event is stored only as the one after the head, which it then becomes:
            # the head row is locked until the transaction ends, so two writers cannot
            # both append event N.
            """
            CREATE FUNCTION cf_audit_chain() RETURNS trigger
            LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            DECLARE
                head audit_head%ROWTYPE;
            BEGIN
                SELECT * INTO head FROM audit_head WHERE one FOR UPDATE;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'the audit head is missing';
                END IF;
                IF NEW.seq <> head.seq + 1 OR NEW.prev <> head.hash OR NEW.month < head.month THEN
                    RAISE EXCEPTION 'audit event % does not follow event % (%)',
                        NEW.seq, head.seq, head.hash USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash, month = NEW.month
                    WHERE one;
                RETURN NEW;
            END
            $$
            """,
            """
            CREATE TRIGGER audit_chain BEFORE INSERT ON audit
                FOR EACH ROW EXECUTE FUNCTION cf_audit_chain()
            """,
            # The head only moves forward, one event at a time, and is never removed.
            """
            CREATE FUNCTION cf_audit_head_guard() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.seq <> OLD.seq + 1 OR NEW.month < OLD.month THEN
                    RAISE EXCEPTION 'the audit head only moves to the next event'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END
            $$
            """,
            """
            CREATE TRIGGER audit_head_guard BEFORE UPDATE ON audit_head
                FOR EACH ROW EXECUTE FUNCTION cf_audit_head_guard()
            """,
            """
            CREATE TRIGGER audit_head_keep BEFORE DELETE OR TRUNCATE ON audit_head
                FOR EACH STATEMENT EXECUTE FUNCTION cf_audit_append_only()
            """,
        ],
    ),
    (
        # A name's grams carry their case's month, so that a lookup within some months
        # (a repeat complaint's window) reads those months' grams only: a common name's
        # grams over every year were most of `case new` at a million cases.
        2,
        [
            'ALTER TABLE name_grams ADD COLUMN partition text COLLATE "C"',
            """
            UPDATE name_grams g SET partition = r.partition
            FROM records r WHERE r.collection = g.collection AND r.key = g.case_no
            """,
            "ALTER TABLE name_grams ALTER COLUMN partition SET NOT NULL",
            "ALTER TABLE name_grams DROP CONSTRAINT name_grams_pkey",
            "ALTER TABLE name_grams ADD PRIMARY KEY (gram, partition, case_no)",
        ],
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def schema_version(conn) -> int:
    """The version of the schema of the database `conn` is connected to (0: none)."""
    import psycopg

    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    try:
        return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    except psycopg.errors.UndefinedTable:  # pragma: no cover - dropped meanwhile
        return 0


def migrate(conn, upto: int | None = None) -> list[int]:
    """Bring the schema to version `upto` (the newest by default): the versions applied,
    none when it is there already. Several processes may call it at once: they take turns
    on an advisory lock, and the second finds nothing left to do. `conn` is in autocommit
    mode (each version is applied in a transaction of its own)."""
    target = SCHEMA_VERSION if upto is None else upto
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version    integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now(),
                applied_by text NOT NULL DEFAULT current_user
            )
            """
        )
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        for version, steps in MIGRATIONS:
            if version <= current or version > target:
                continue
            with conn.transaction():  # a savepoint: a failing version leaves the ones before
                for step in steps:
                    conn.execute(step)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
            applied.append(version)
    return applied
