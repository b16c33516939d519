-- HiSIR project database, schema 2: images can be removed from a project. Removal is a soft
-- delete (images.removed is the UTC time of the removal, NULL while the image is in the
-- project), logged in the audit log as an undoable edit of the new entity 'image'.

ALTER TABLE images ADD COLUMN removed TEXT;
CREATE INDEX images_removed ON images (removed) WHERE removed IS NOT NULL;

-- SQLite cannot change a CHECK constraint in place: the audit log is rebuilt with every row
-- and id kept. DROP TABLE drops the old indexes and triggers without firing them.
CREATE TABLE audit_v2 (
    id        INTEGER PRIMARY KEY,
    op        INTEGER NOT NULL,
    at        TEXT    NOT NULL,
    who       TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('edit', 'undo', 'redo')),
    entity    TEXT    NOT NULL CHECK (entity IN ('detection', 'label', 'threshold', 'image')),
    entity_id INTEGER NOT NULL,
    before    TEXT    NOT NULL,
    after     TEXT    NOT NULL,
    ref       INTEGER NOT NULL DEFAULT 0      -- for undo/redo: the op it reverts or re-applies
);
INSERT INTO audit_v2 (id, op, at, who, action, entity, entity_id, before, after, ref)
    SELECT id, op, at, who, action, entity, entity_id, before, after, ref FROM audit ORDER BY id;
DROP TABLE audit;
ALTER TABLE audit_v2 RENAME TO audit;
CREATE INDEX audit_op ON audit (op);
CREATE INDEX audit_entity ON audit (entity, entity_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
