-- A child execution started by a states:startExecution.sync task names
-- that task: its end completes the task, which waits without holding a
-- worker, and stopping the parent stops it.
ALTER TABLE wf_executions ADD COLUMN parent_token TEXT NOT NULL DEFAULT '';
CREATE INDEX wf_executions_parent ON wf_executions (parent_token) WHERE parent_token <> '';
