-- Schema 5: the last reset of a peer's audit checkpoint (after its restore from a backup):
-- the epoch the peer's files had until then, and when the reset was made. A file of that
-- epoch written before the reset still brings its cases, but neither its checkpoint nor
-- the peer's own audit entries of before the restore (see desktop/transfer/importer.py).
--
-- Self-contained: this file never depends on application code.

ALTER TABLE peers ADD COLUMN reset_epoch TEXT;
ALTER TABLE peers ADD COLUMN reset_at TEXT;
