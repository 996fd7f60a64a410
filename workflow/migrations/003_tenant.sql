-- Every execution runs for a tenant (empty for installation work), fixed
-- when it starts. Tenants list their own executions newest first, and the
-- concurrency limit counts a tenant's running ones.
ALTER TABLE wf_executions ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX wf_executions_tenant ON wf_executions (tenant, start_us);
CREATE INDEX wf_executions_tenant_running ON wf_executions (tenant) WHERE status = 'RUNNING';
