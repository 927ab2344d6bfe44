-- Haven schema 1: site, users, cases with persons, contacts, status history,
-- codeword attempts, site lists, the audit log and the person search index.

CREATE TABLE site (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    site_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    ref_prefix    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    signing_key   BLOB NOT NULL,   -- Ed25519 private key, raw 32 bytes
    encryption_key BLOB NOT NULL   -- X25519 private key, raw 32 bytes
);

-- Small facts about the vault itself, such as which version built the search index.
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('operator', 'manager', 'it', 'admin')),
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE cases (
    rowid            INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    ref              TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    queue_rank       INTEGER NOT NULL,
    display_names    TEXT NOT NULL,
    location         TEXT,
    callback         TEXT,
    notes            TEXT,
    codeword_salt    BLOB NOT NULL,
    codeword_digest  BLOB NOT NULL,
    group_size       INTEGER,
    condition        TEXT,
    meeting_point    TEXT,
    receiving_unit   TEXT,
    window_start     TEXT,
    window_end       TEXT,
    outcome          TEXT,
    outcome_notes    TEXT,
    duplicate_of     TEXT,
    reason           TEXT,
    flagged          INTEGER NOT NULL DEFAULT 0,
    failed_codeword_attempts INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    status_changed_at TEXT NOT NULL,
    last_contact_at  TEXT,
    origin_site      TEXT NOT NULL,
    hlc              TEXT NOT NULL
);
CREATE INDEX cases_queue ON cases (queue_rank, status_changed_at, rowid);

CREATE TABLE persons (
    id            INTEGER PRIMARY KEY,
    case_rowid    INTEGER NOT NULL REFERENCES cases (rowid) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    full_name     TEXT NOT NULL,
    birth_date    TEXT,
    phone         TEXT,
    rank          TEXT,
    unit          TEXT,
    mobilization  TEXT NOT NULL,
    notes         TEXT
);
CREATE INDEX persons_case ON persons (case_rowid, position);
CREATE INDEX persons_phone ON persons (phone) WHERE phone IS NOT NULL;
CREATE INDEX persons_birth_date ON persons (birth_date) WHERE birth_date IS NOT NULL;

-- Contentless: the index holds only normalised, transliterated terms keyed by person id.
CREATE VIRTUAL TABLE person_search USING fts5 (
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61',
    prefix = '1 2 3'
);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    case_rowid  INTEGER NOT NULL REFERENCES cases (rowid) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    channel     TEXT NOT NULL,
    operator    TEXT NOT NULL,
    stage       TEXT NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX contacts_case ON contacts (case_rowid, at);

CREATE TABLE status_history (
    id           INTEGER PRIMARY KEY,
    case_rowid   INTEGER NOT NULL REFERENCES cases (rowid) ON DELETE CASCADE,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    at           TEXT NOT NULL,
    by           TEXT NOT NULL,
    fields       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX status_history_case ON status_history (case_rowid, id);

CREATE TABLE codeword_attempts (
    id          INTEGER PRIMARY KEY,
    case_rowid  INTEGER NOT NULL REFERENCES cases (rowid) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    by          TEXT NOT NULL,
    success     INTEGER NOT NULL
);
CREATE INDEX codeword_attempts_case ON codeword_attempts (case_rowid, id);

CREATE TABLE site_places (
    id      INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL CHECK (kind IN ('meeting_point', 'receiving_unit')),
    name    TEXT NOT NULL,
    active  INTEGER NOT NULL DEFAULT 1,
    UNIQUE (kind, name)
);

-- Every handoff sheet printed: the serial is the row id; copy 0 is the original.
CREATE TABLE print_register (
    serial       INTEGER PRIMARY KEY,
    case_rowid   INTEGER NOT NULL REFERENCES cases (rowid) ON DELETE CASCADE,
    copy_number  INTEGER NOT NULL,
    printed_at   TEXT NOT NULL,
    printed_by   TEXT NOT NULL,
    content_digest BLOB NOT NULL
);
CREATE INDEX print_register_case ON print_register (case_rowid, copy_number);

-- Append-only; each entry's leaf hash is its RFC 6962 leaf, chained for quick checks.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    case_id     TEXT,
    detail      TEXT NOT NULL,
    leaf_hash   BLOB NOT NULL,
    chain_hash  BLOB NOT NULL
);
CREATE INDEX audit_case ON audit_log (case_id) WHERE case_id IS NOT NULL;
