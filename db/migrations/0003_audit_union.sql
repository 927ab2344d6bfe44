-- Schema 3: audit entries travel between sites (DESIGN.md: append-only unions).
--
-- Entries of other sites' audit logs, as they reached this site, directly or relayed by
-- another site. This site's own log stays in audit_log; every site that has seen the
-- same files holds the same entries of each log. When a peer is restored from a backup
-- its log goes back and continues differently: the entries held of it are then set
-- aside (archived_at), kept and listed but never sent on.
CREATE TABLE peer_audit (
    id           INTEGER PRIMARY KEY,
    origin       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    case_id      TEXT,
    detail       TEXT NOT NULL,
    leaf_hash    BLOB NOT NULL,
    archived_at  TEXT
);
CREATE UNIQUE INDEX peer_audit_live ON peer_audit (origin, seq) WHERE archived_at IS NULL;
CREATE INDEX peer_audit_case ON peer_audit (case_id) WHERE case_id IS NOT NULL;

-- What each peer's newest file said it holds of each site's audit log (entries 1..held),
-- so the next file to it carries only the entries after those.
CREATE TABLE peer_audit_acks (
    peer      TEXT NOT NULL REFERENCES peers (site_id),
    epoch     TEXT NOT NULL,
    sequence  INTEGER NOT NULL,
    origin    TEXT NOT NULL,
    held      INTEGER NOT NULL,
    PRIMARY KEY (peer, origin)
);
