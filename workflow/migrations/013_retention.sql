-- Retention removes ended executions by stop time, with their frames,
-- tasks and history.
CREATE INDEX wf_executions_stopped ON wf_executions (stop_us) WHERE status <> 'RUNNING';
CREATE INDEX wf_tasks_execution ON wf_tasks (execution_arn);
