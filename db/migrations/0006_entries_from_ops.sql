-- Schema 6: a case's contacts, status history and codeword checks are read from its ops
-- (db/sync.py derives them), where every one of them already is: the upgrade to schema 2
-- made ops of the rows there were, and every entry since was logged as an op first. The
-- tables kept a second copy of each, which an import wrote row by row.
--
-- Self-contained: this file never depends on application code.

DROP TABLE contacts;
DROP TABLE status_history;
DROP TABLE codeword_attempts;
