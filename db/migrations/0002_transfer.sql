-- Haven schema 2: site-to-site transfer.
--
-- Every change to a case is kept as an operation ("op") in the op-log, so that a
-- site can send what the other side has not seen and every site that has seen the
-- same ops derives the same cases. The log keeps one row per case: its ops as a
-- JSON array in stamp order, and lseq, the position of the case's latest change in
-- this site's change order (what acknowledgements between sites count). Peers, the per-peer file sequences and
-- acknowledgements, the audit checkpoints accepted from each peer and the open
-- merge conflicts live here too. Cases that exist at upgrade time get ops made
-- from their current rows, so an old vault can export them.
--
-- Self-contained: this file never depends on application code.

-- The site's transfer epoch, renewed on restore so that a restored site never reuses
-- file sequence numbers its peers have already seen.
CREATE TABLE sync_state (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    epoch        TEXT NOT NULL
);

-- An op's id is its hybrid logical clock stamp "ms:counter:origin site"; newest is the
-- case's newest stamp, and the largest of them is where the site's clock stands.
-- versions maps an edited field group to the op it shows (absent: the create op).
CREATE TABLE case_ops (
    id        INTEGER PRIMARY KEY,
    case_id   TEXT NOT NULL UNIQUE,
    lseq      INTEGER NOT NULL UNIQUE,
    newest    TEXT NOT NULL,
    versions  TEXT NOT NULL DEFAULT '{}',
    ops       TEXT NOT NULL
);
CREATE INDEX case_ops_newest ON case_ops (newest);

-- Which op made each append-only row, so the same row is never added twice.
ALTER TABLE contacts ADD COLUMN op TEXT;
ALTER TABLE status_history ADD COLUMN op TEXT;
ALTER TABLE codeword_attempts ADD COLUMN op TEXT;

-- Concurrent edits of one field group of a case; id is derived from the ops, so
-- every site that holds the same ops names the conflict the same way.
CREATE TABLE conflicts (
    id       TEXT PRIMARY KEY,
    case_id  TEXT NOT NULL,
    grp      TEXT NOT NULL,
    heads    TEXT NOT NULL,
    UNIQUE (case_id, grp)
);

CREATE TABLE peers (
    site_id        TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    signing_key    TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    added_at       TEXT NOT NULL,
    added_by       TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_by     TEXT,
    next_sequence  INTEGER NOT NULL DEFAULT 1,
    acked_lseq     INTEGER NOT NULL DEFAULT 0,
    acked_checkpoint INTEGER NOT NULL DEFAULT 0,
    their_epoch    TEXT
);

-- Files this site wrote, per recipient: what they covered and which checkpoint they carried.
CREATE TABLE sent_files (
    peer             TEXT NOT NULL REFERENCES peers (site_id),
    epoch            TEXT NOT NULL,
    sequence         INTEGER NOT NULL,
    base_lseq        INTEGER NOT NULL,
    upto_lseq        INTEGER NOT NULL,
    checkpoint_size  INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    payload_sha256   TEXT NOT NULL,
    PRIMARY KEY (peer, epoch, sequence)
);

-- Files this site imported: a replay is a (sender, epoch, sequence) seen before.
CREATE TABLE received_files (
    peer             TEXT NOT NULL REFERENCES peers (site_id),
    epoch            TEXT NOT NULL,
    sequence         INTEGER NOT NULL,
    base_lseq        INTEGER NOT NULL,
    upto_lseq        INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    imported_at      TEXT NOT NULL,
    payload_sha256   TEXT NOT NULL,
    PRIMARY KEY (peer, epoch, sequence)
);

-- Audit checkpoints accepted from each peer, with the consistency proofs that came with
-- them (kept so that a file arriving late can still be checked against a later one).
CREATE TABLE peer_checkpoints (
    peer         TEXT NOT NULL REFERENCES peers (site_id),
    tree_size    INTEGER NOT NULL,
    root         TEXT NOT NULL,
    proofs       TEXT NOT NULL,
    accepted_at  TEXT NOT NULL,
    PRIMARY KEY (peer, tree_size)
);

-- Backfill: one op per existing case, status change, contact and codeword attempt.
-- Stamps are spread just before the upgrade time in the order things happened, so
-- they are unique, keep each case's history in order, and lose to any later edit.
CREATE TEMP TABLE backfill (
    item     TEXT NOT NULL,
    row_id   INTEGER NOT NULL,
    case_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    stamp    TEXT,
    PRIMARY KEY (item, row_id)
);

INSERT INTO temp.backfill (item, row_id, case_id, position)
SELECT item, row_id, case_id, row_number() OVER (ORDER BY at, rank, row_id) - 1
  FROM (
    SELECT 'create' AS item, 0 AS rank, rowid AS row_id, id AS case_id, created_at AS at
      FROM cases
    UNION ALL
    SELECT 'status', 1, h.id, c.id, h.at
      FROM status_history h JOIN cases c ON c.rowid = h.case_rowid
     WHERE h.from_status IS NOT NULL
    UNION ALL
    SELECT 'contact', 2, k.id, c.id, k.at
      FROM contacts k JOIN cases c ON c.rowid = k.case_rowid
    UNION ALL
    SELECT 'codeword', 3, a.id, c.id, a.at
      FROM codeword_attempts a JOIN cases c ON c.rowid = a.case_rowid
  );

-- ten thousand stamps per millisecond, ending a millisecond before the upgrade
CREATE TEMP TABLE backfill_base AS
SELECT CAST(unixepoch('now') AS INTEGER) * 1000 - 1
       - (SELECT count(*) FROM temp.backfill) / 10000 AS base_ms,
       (SELECT site_id FROM site) AS site_id;

UPDATE temp.backfill SET stamp = (
    SELECT printf('%013d:%04d:%s', b.base_ms + temp.backfill.position / 10000,
                  temp.backfill.position % 10000, b.site_id)
      FROM temp.backfill_base b
);

CREATE TEMP TABLE backfill_chain (
    row_id  INTEGER PRIMARY KEY,
    parent  TEXT
);
INSERT INTO temp.backfill_chain (row_id, parent)
SELECT row_id, parent FROM (
    SELECT item, row_id, lag(stamp) OVER (PARTITION BY case_id ORDER BY position) AS parent
      FROM temp.backfill WHERE item IN ('create', 'status')
) WHERE item = 'status';

CREATE TEMP TABLE backfill_ops (
    case_id  TEXT NOT NULL,
    stamp    TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (case_id, stamp)
);

INSERT INTO temp.backfill_ops (case_id, stamp, body)
SELECT c.id, b.stamp,
       json_object(
           'at', c.created_at,
           'by', c.created_by,
           'kind', 'create',
           'op', b.stamp,
           'values', json_object(
               'callback', c.callback,
               'channel', c.channel,
               'codeword_digest', lower(hex(c.codeword_digest)),
               'codeword_salt', lower(hex(c.codeword_salt)),
               'condition', c.condition,
               'duplicate_of', c.duplicate_of,
               'group_size', c.group_size,
               'kind', c.kind,
               'location', c.location,
               'meeting_point', c.meeting_point,
               'notes', c.notes,
               'outcome', c.outcome,
               'outcome_notes', c.outcome_notes,
               'persons', json((
                   SELECT json_group_array(json_object(
                       'birth_date', p.birth_date,
                       'full_name', p.full_name,
                       'mobilization', p.mobilization,
                       'notes', p.notes,
                       'phone', p.phone,
                       'rank', p.rank,
                       'unit', p.unit))
                     FROM (SELECT * FROM persons WHERE case_rowid = c.rowid ORDER BY position) p
               )),
               'reason', c.reason,
               'receiving_unit', c.receiving_unit,
               'ref', c.ref,
               'window_end', c.window_end,
               'window_start', c.window_start))
  FROM temp.backfill b JOIN cases c ON c.rowid = b.row_id
 WHERE b.item = 'create';

INSERT INTO temp.backfill_ops (case_id, stamp, body)
SELECT b.case_id, b.stamp,
       json_object(
           'at', h.at,
           'by', h.by,
           'group', 'status',
           'kind', 'set',
           'op', b.stamp,
           'parents', json_array(ch.parent),
           'values', json_object(
               'fields', json(h.fields),
               'from', h.from_status,
               'status', h.to_status))
  FROM temp.backfill b
  JOIN status_history h ON h.id = b.row_id
  JOIN temp.backfill_chain ch ON ch.row_id = b.row_id
 WHERE b.item = 'status';

INSERT INTO temp.backfill_ops (case_id, stamp, body)
SELECT b.case_id, b.stamp,
       json_object(
           'at', k.at,
           'by', k.operator,
           'kind', 'contact',
           'op', b.stamp,
           'values', json_object(
               'channel', k.channel,
               'stage', k.stage,
               'summary', k.summary))
  FROM temp.backfill b JOIN contacts k ON k.id = b.row_id
 WHERE b.item = 'contact';

INSERT INTO temp.backfill_ops (case_id, stamp, body)
SELECT b.case_id, b.stamp,
       json_object(
           'at', a.at,
           'by', a.by,
           'kind', 'codeword',
           'op', b.stamp,
           'values', json_object(
               'flag_after', 3,
               'success', json(CASE WHEN a.success THEN 'true' ELSE 'false' END)))
  FROM temp.backfill b JOIN codeword_attempts a ON a.id = b.row_id
 WHERE b.item = 'codeword';

INSERT INTO case_ops (case_id, lseq, newest, versions, ops)
SELECT g.case_id,
       row_number() OVER (ORDER BY g.case_id),
       g.newest,
       CASE WHEN s.latest IS NULL THEN '{}' ELSE json_object('status', s.latest) END,
       g.ops
  FROM (SELECT case_id, max(stamp) AS newest,
               json_group_array(json(body) ORDER BY stamp) AS ops
          FROM temp.backfill_ops GROUP BY case_id) g
  LEFT JOIN (SELECT case_id, max(stamp) AS latest FROM temp.backfill
              WHERE item = 'status' GROUP BY case_id) s ON s.case_id = g.case_id;

UPDATE cases SET hlc = (
    SELECT b.stamp FROM temp.backfill b WHERE b.item = 'create' AND b.row_id = cases.rowid
);
UPDATE status_history SET op = (
    SELECT b.stamp FROM temp.backfill b
     WHERE b.item = 'status' AND b.row_id = status_history.id
) WHERE from_status IS NOT NULL;
UPDATE status_history SET op = (
    SELECT c.hlc FROM cases c WHERE c.rowid = status_history.case_rowid
) WHERE from_status IS NULL;
UPDATE contacts SET op = (
    SELECT b.stamp FROM temp.backfill b WHERE b.item = 'contact' AND b.row_id = contacts.id
);
UPDATE codeword_attempts SET op = (
    SELECT b.stamp FROM temp.backfill b
     WHERE b.item = 'codeword' AND b.row_id = codeword_attempts.id
);

CREATE UNIQUE INDEX contacts_op ON contacts (op);
CREATE UNIQUE INDEX status_history_op ON status_history (op);
CREATE UNIQUE INDEX codeword_attempts_op ON codeword_attempts (op);

INSERT INTO sync_state (singleton, epoch) VALUES (1, lower(hex(randomblob(8))));

DROP TABLE temp.backfill_ops;
DROP TABLE temp.backfill_chain;
DROP TABLE temp.backfill_base;
DROP TABLE temp.backfill;
