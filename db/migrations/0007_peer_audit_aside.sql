-- Schema 7: an index on the entries of other sites' logs that were set aside.
--
-- An import looks, for each run of entries it brings, for set-aside copies of them (a
-- true entry set aside with a false one goes back into the log when it comes again).
-- The index of the log's entries covers only those not set aside; without this one each
-- look would read the whole table. Set-aside entries are few, so the index is small.
--
-- Self-contained: this file never depends on application code.

CREATE INDEX peer_audit_aside ON peer_audit (origin, seq) WHERE archived_at IS NOT NULL;
