-- The map runs of distributed Maps. A run's items are rows of
-- wf_map_items, not part of the Map's frame: an iteration's transition
-- reads its own item and the Map frame's counters, so a Map's cost grows
-- with its items, not with their square. Its iterations are the child
-- frames (parent_id = frame_id, gen = gen); their counts are read from
-- them.
CREATE TABLE wf_map_runs (
    arn               TEXT PRIMARY KEY,
    execution_arn     TEXT NOT NULL,
    frame_id          TEXT NOT NULL,
    gen               BIGINT NOT NULL,
    path              TEXT NOT NULL,
    state_name        TEXT NOT NULL,
    status            TEXT NOT NULL,
    total             INTEGER NOT NULL,
    max_concurrency   INTEGER NOT NULL,
    tolerated_count   INTEGER NOT NULL,
    tolerated_percent DOUBLE PRECISION NOT NULL,
    start_us          BIGINT NOT NULL,
    stop_us           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wf_map_runs_execution ON wf_map_runs (execution_arn, start_us);
CREATE INDEX wf_map_runs_frame ON wf_map_runs (frame_id, gen);

CREATE TABLE wf_map_items (
    run   TEXT NOT NULL,
    idx   INTEGER NOT NULL,
    item  TEXT NOT NULL,
    -- n is how many of the Map's items the row holds: 1, or the size of
    -- the batch an ItemBatcher made.
    n     INTEGER NOT NULL,
    PRIMARY KEY (run, idx)
);

-- When a frame was made: a distributed Map iteration's start date.
ALTER TABLE wf_frames ADD COLUMN created_us BIGINT NOT NULL DEFAULT 0;
