-- HiSIR project database, schema 1. Times are UTC text "2006-01-02T15:04:05.000000Z".

CREATE TABLE images (
    id      INTEGER PRIMARY KEY,
    path    TEXT    NOT NULL,
    hash    TEXT    NOT NULL UNIQUE,          -- sha256 of the file bytes, hex
    width   INTEGER NOT NULL CHECK (width > 0),
    height  INTEGER NOT NULL CHECK (height > 0),
    layout  TEXT    NOT NULL DEFAULT '{}',     -- panel/board layout JSON
    split   TEXT    NOT NULL DEFAULT '',
    added   TEXT    NOT NULL
);
CREATE INDEX images_split ON images (split);

CREATE TABLE models (
    id       INTEGER PRIMARY KEY,
    hash     TEXT NOT NULL UNIQUE,             -- sha256 of the ONNX file, hex
    path     TEXT NOT NULL,
    name     TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',       -- contract metadata_props JSON
    added    TEXT NOT NULL
);

CREATE TABLE runs (
    id       INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models (id),
    params   TEXT    NOT NULL DEFAULT '{}',
    started  TEXT    NOT NULL,
    finished TEXT,
    provider TEXT    NOT NULL DEFAULT '',
    status   TEXT    NOT NULL DEFAULT 'running'
             CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    error    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_model ON runs (model_id);

-- One row per image a run has finished: written with that image's detections, in one transaction.
CREATE TABLE run_images (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    done       TEXT    NOT NULL,
    detections INTEGER NOT NULL,
    PRIMARY KEY (image_id, run_id)
) WITHOUT ROWID;
CREATE INDEX run_images_run ON run_images (run_id);

CREATE TABLE maps (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    kind     TEXT    NOT NULL,
    blob     TEXT    NOT NULL,                 -- sha256 hex of the blob file
    size     INTEGER NOT NULL,
    PRIMARY KEY (image_id, run_id, kind)
) WITHOUT ROWID;

CREATE TABLE classes (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL DEFAULT ''
);

CREATE TABLE detections (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    polygon    TEXT    NOT NULL,               -- geom.Polygon JSON
    x0 INTEGER NOT NULL, y0 INTEGER NOT NULL, x1 INTEGER NOT NULL, y1 INTEGER NOT NULL,
    area       INTEGER NOT NULL,
    peak       REAL    NOT NULL,
    mean       REAL    NOT NULL,
    class      TEXT    NOT NULL DEFAULT '',
    status     TEXT    NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'accepted', 'rejected')),
    updated    TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX detections_image ON detections (image_id, run_id);
CREATE INDEX detections_run ON detections (run_id);

CREATE TABLE labels (
    id      INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    polygon TEXT    NOT NULL,
    class   TEXT    NOT NULL,
    author  TEXT    NOT NULL,
    created TEXT    NOT NULL,
    updated TEXT    NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
);
CREATE INDEX labels_image ON labels (image_id);

CREATE TABLE thresholds (
    model_id   INTEGER PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    value      REAL NOT NULL,
    updated    TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Append-only log of every decision and edit. Rows of one operation share op.
-- action: edit (a user change), undo (reverts op ref), redo (re-applies op ref).
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    op        INTEGER NOT NULL,
    at        TEXT    NOT NULL,
    who       TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('edit', 'undo', 'redo')),
    entity    TEXT    NOT NULL CHECK (entity IN ('detection', 'label', 'threshold')),
    entity_id INTEGER NOT NULL,
    before    TEXT    NOT NULL,
    after     TEXT    NOT NULL,
    ref       INTEGER NOT NULL DEFAULT 0      -- for undo/redo: the op it reverts or re-applies
);
CREATE INDEX audit_op ON audit (op);
CREATE INDEX audit_entity ON audit (entity, entity_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

-- Per-user undo and redo stacks of edit ops; the top is the highest seq.
CREATE TABLE undo_stack (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    who   TEXT    NOT NULL,
    stack TEXT    NOT NULL CHECK (stack IN ('undo', 'redo')),
    op    INTEGER NOT NULL
);
CREATE INDEX undo_stack_who ON undo_stack (who, stack, seq);
