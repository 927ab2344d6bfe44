-- Schema 4: the hash of every complete block of 256 audit entries, per log ('' for
-- this site's own log, else the site whose entries are held here), so that a Merkle root
-- or proof reads the blocks and the few entries after them instead of the whole log.
-- Filled as roots are needed (db/audit_tree.py); the entries stay the only record.
--
-- Self-contained: this file never depends on application code.

CREATE TABLE audit_blocks (
    log    TEXT NOT NULL,
    block  INTEGER NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (log, block)
) WITHOUT ROWID;
