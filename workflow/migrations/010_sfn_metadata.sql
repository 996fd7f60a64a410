-- What Step Functions keeps beside a state machine's definition: its
-- logging and tracing configuration and description (part of
-- CreateStateMachine's idempotency check), tags of state machines and
-- activities, published versions and aliases.
ALTER TABLE wf_state_machines ADD COLUMN logging TEXT NOT NULL DEFAULT '';
ALTER TABLE wf_state_machines ADD COLUMN tracing TEXT NOT NULL DEFAULT '';
ALTER TABLE wf_state_machines ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE wf_state_machines ADD COLUMN next_version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE wf_tags (
    resource_arn TEXT NOT NULL,
    tag_key      TEXT NOT NULL,
    tag_value    TEXT NOT NULL,
    PRIMARY KEY (resource_arn, tag_key)
);

-- A published version is an immutable copy of the machine's definition
-- and role; arn is the machine's ARN and ":<version>".
CREATE TABLE wf_sm_versions (
    arn         TEXT PRIMARY KEY,
    sm_arn      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    definition  TEXT NOT NULL,
    role_arn    TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    revision    BIGINT NOT NULL,
    created_us  BIGINT NOT NULL,
    UNIQUE (sm_arn, version)
);

-- An alias routes starts to one or two versions by weight; routing is a
-- JSON array of {"stateMachineVersionArn", "weight"}.
CREATE TABLE wf_sm_aliases (
    arn         TEXT PRIMARY KEY,
    sm_arn      TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    routing     TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL
);
CREATE INDEX wf_sm_aliases_sm ON wf_sm_aliases (sm_arn);

-- The version or alias ARN an execution was started with ('' for the
-- machine's latest revision).
ALTER TABLE wf_executions ADD COLUMN sm_qualified TEXT NOT NULL DEFAULT '';
