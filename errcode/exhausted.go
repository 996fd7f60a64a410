package errcode

// ResourceExhausted: a quota of the caller's was reached (a tenant's
// concurrent executions, say); retry when some of it has been released.
const ResourceExhausted Code = "ResourceExhausted"
