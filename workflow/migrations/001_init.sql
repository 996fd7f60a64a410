-- Landfall workflow engine tables. The same statements run on SQLite and
-- PostgreSQL: times are Unix microseconds, documents are JSON text.

CREATE TABLE wf_state_machines (
    arn         TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    role_arn    TEXT NOT NULL DEFAULT '',
    revision    BIGINT NOT NULL DEFAULT 1,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL
);

CREATE TABLE wf_executions (
    arn            TEXT PRIMARY KEY,
    sm_arn         TEXT NOT NULL,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL,
    input          TEXT NOT NULL,
    output         TEXT,
    error          TEXT,
    cause          TEXT,
    correlation_id TEXT NOT NULL DEFAULT '',
    definition     TEXT NOT NULL,
    start_us       BIGINT NOT NULL,
    stop_us        BIGINT NOT NULL DEFAULT 0,
    timeout_us     BIGINT NOT NULL DEFAULT 0,
    next_event     BIGINT NOT NULL DEFAULT 1,
    redrive_count  INTEGER NOT NULL DEFAULT 0,
    redrive_us     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (sm_arn, name)
);
CREATE INDEX wf_executions_status ON wf_executions (status, start_us);
CREATE INDEX wf_executions_sm ON wf_executions (sm_arn, start_us);
CREATE INDEX wf_executions_correlation ON wf_executions (correlation_id);
CREATE INDEX wf_executions_timeout ON wf_executions (timeout_us) WHERE status = 'RUNNING' AND timeout_us > 0;

-- One interpreter frame: the root of an execution, a Parallel branch or a
-- Map iteration. version is the compare-and-swap guard of every transition.
CREATE TABLE wf_frames (
    id             TEXT PRIMARY KEY,
    execution_arn  TEXT NOT NULL,
    parent_id      TEXT NOT NULL DEFAULT '',
    idx            INTEGER NOT NULL DEFAULT 0,
    -- gen tells apart the children of successive Parallel or Map states
    -- of one parent: the id of the event that started them.
    gen            BIGINT NOT NULL DEFAULT 0,
    path           TEXT NOT NULL,
    status         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    frame          TEXT NOT NULL,
    task_token     TEXT NOT NULL DEFAULT '',
    wake_us        BIGINT NOT NULL DEFAULT 0,
    pending        INTEGER NOT NULL DEFAULT 0,
    next_child     INTEGER NOT NULL DEFAULT 0,
    total_children INTEGER NOT NULL DEFAULT 0,
    max_children   INTEGER NOT NULL DEFAULT 0,
    failed_children INTEGER NOT NULL DEFAULT 0,
    child_spec     TEXT NOT NULL DEFAULT '',
    -- checkpoint is the frame as it was when its last effect started
    -- (kind task or children), kept while that effect's failure is what
    -- failed the frame: RedriveExecution resumes from it.
    checkpoint      TEXT NOT NULL DEFAULT '',
    checkpoint_kind TEXT NOT NULL DEFAULT '',
    output         TEXT,
    error          TEXT,
    cause          TEXT,
    last_event     BIGINT NOT NULL DEFAULT 0,
    updated_us     BIGINT NOT NULL
);
CREATE INDEX wf_frames_execution ON wf_frames (execution_arn);
CREATE INDEX wf_frames_parent ON wf_frames (parent_id, gen, idx);

CREATE TABLE wf_history (
    execution_arn TEXT NOT NULL,
    id            BIGINT NOT NULL,
    prev_id       BIGINT NOT NULL,
    type          TEXT NOT NULL,
    ts_us         BIGINT NOT NULL,
    details       TEXT NOT NULL,
    PRIMARY KEY (execution_arn, id)
);

-- One attempt of a Task state. token is the task token of
-- .waitForTaskToken and activities; dispatch fences stale workers.
CREATE TABLE wf_tasks (
    token             TEXT PRIMARY KEY,
    execution_arn     TEXT NOT NULL,
    frame_id          TEXT NOT NULL,
    state_name        TEXT NOT NULL,
    state_path        TEXT NOT NULL,
    attempt           INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    resource          TEXT NOT NULL,
    activity          TEXT NOT NULL DEFAULT '',
    input             TEXT NOT NULL,
    status            TEXT NOT NULL,
    owner             TEXT NOT NULL DEFAULT '',
    dispatch          INTEGER NOT NULL DEFAULT 0,
    heartbeat_seconds INTEGER NOT NULL DEFAULT 0,
    timeout_us        BIGINT NOT NULL DEFAULT 0,
    heartbeat_us      BIGINT NOT NULL DEFAULT 0,
    created_us        BIGINT NOT NULL
);
CREATE INDEX wf_tasks_open ON wf_tasks (status, owner);
CREATE INDEX wf_tasks_activity ON wf_tasks (activity, status, created_us);
CREATE INDEX wf_tasks_frame ON wf_tasks (frame_id);

CREATE TABLE wf_activities (
    arn        TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_us BIGINT NOT NULL
);

-- Live worker processes; a worker whose heartbeat is older than the lease
-- has died and its running tasks are dispatched again.
CREATE TABLE wf_workers (
    id           TEXT PRIMARY KEY,
    heartbeat_us BIGINT NOT NULL,
    started_us   BIGINT NOT NULL
);

-- River jobs of dead workers that were handed on (each once).
CREATE TABLE wf_job_rescues (
    job_id     BIGINT PRIMARY KEY,
    rescued_us BIGINT NOT NULL
);
