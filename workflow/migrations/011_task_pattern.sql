-- The integration pattern of a task ('' for request-response, 'sync' for
-- .sync and .sync:2), handed to its invoker: an integration such as
-- states:startExecution waits for the work it started only under .sync.
ALTER TABLE wf_tasks ADD COLUMN pattern TEXT NOT NULL DEFAULT '';
