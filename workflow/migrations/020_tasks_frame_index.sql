-- No statement looks tasks up by frame alone (a cancellation finds them
-- by execution, which wf_tasks_execution serves): the index only cost
-- every task's insert and status change a write.
DROP INDEX IF EXISTS wf_tasks_frame;
