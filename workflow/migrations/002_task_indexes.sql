-- Index only the open tasks: finished ones are most rows and no query
-- looks them up but by token.
DROP INDEX IF EXISTS wf_tasks_open;
DROP INDEX IF EXISTS wf_tasks_activity;
DROP INDEX IF EXISTS wf_tasks_frame;
CREATE INDEX wf_tasks_open ON wf_tasks (status, owner) WHERE status IN ('scheduled', 'running', 'waiting');
CREATE INDEX wf_tasks_activity ON wf_tasks (activity, created_us) WHERE status = 'scheduled' AND activity <> '';
