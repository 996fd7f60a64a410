package workflow

import (
	"context"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Access is what the principal of a request may do with the engine's
// state machines, executions, task tokens and activities. The APIs over
// the engine ask it before every call; the engine's own methods trust
// their caller (the bus starting a rule's execution, the pipeline's
// tasks).
//
// State machines and activities belong to the installation: only admins
// (and the anonymous caller of an open installation) create, change or
// delete them and poll activity tasks. Executions belong to the tenant
// they run for: a tenant's keys start them (for their own tenant only),
// see, stop, redrive and settle the tasks of their own, and another
// tenant's executions are reported missing, exactly like ones that do
// not exist. Reviewer keys reach no state machine, execution or task
// token: their decisions resume executions through the review queue. A
// request without a principal is refused, never let through.
type Access struct {
	p  identity.Principal
	ok bool
}

// AccessOf returns the access of the principal ctx carries.
func AccessOf(ctx context.Context) Access {
	p, ok := identity.FromContext(ctx)
	return Access{p: p, ok: ok}
}

// Principal returns the principal (zero when the request had none).
func (a Access) Principal() identity.Principal { return a.p }

func (a Access) unauthenticated() error {
	return errcode.New(errcode.Unauthenticated, "the request carries no authenticated principal")
}

// Administer allows creating, updating, tagging and deleting state
// machines and activities, and polling activity tasks.
func (a Access) Administer() error {
	if !a.ok {
		return a.unauthenticated()
	}
	if !a.p.Installation() {
		return errcode.New(errcode.PermissionDenied, "%s may not change the installation's state machines or activities (an admin key may)", a.p.Role)
	}
	return nil
}

// PollActivities allows polling activity tasks (GetActivityTask): admins,
// and operators, whose keys run activity workers on other machines. A
// worker sees the input of the tasks it is handed and settles those tasks
// (AuthorizeTask), and nothing else of any tenant.
func (a Access) PollActivities() error {
	if !a.ok {
		return a.unauthenticated()
	}
	if !a.p.Installation() && a.p.Role != identity.RoleOperator {
		return errcode.New(errcode.PermissionDenied, "%s may not poll activity tasks (an operator or admin key may)", roleName(a.p.Role))
	}
	return nil
}

// Read allows listing and describing state machines and activities:
// every principal but operators and reviewers.
func (a Access) Read() error {
	if !a.ok {
		return a.unauthenticated()
	}
	if a.p.Role == identity.RoleOperator || a.p.Role == identity.RoleReviewer || a.p.Role == "" {
		return errcode.New(errcode.PermissionDenied, "%s may not read state machines", roleName(a.p.Role))
	}
	return nil
}

func roleName(r identity.Role) string {
	if r == "" {
		return "a principal without a role"
	}
	return string(r)
}

// StartTenant returns the tenant an execution started by the principal
// runs for. requested is the tenant the request names ("" for none): a
// tenant key may only name its own, an admin may name any (none is
// installation work), the anonymous caller of an open installation
// defaults to its tenant.
func (a Access) StartTenant(requested string) (string, error) {
	if !a.ok {
		return "", a.unauthenticated()
	}
	switch a.p.Role {
	case identity.RoleAdmin:
		return requested, nil
	case identity.RoleAnonymous:
		if requested != "" {
			return requested, nil
		}
		return a.p.Tenant, nil
	case identity.RoleTenant:
		if a.p.Tenant == "" {
			return "", errcode.New(errcode.PermissionDenied, "this tenant key names no tenant")
		}
		if requested != "" && requested != a.p.Tenant {
			return "", errcode.New(errcode.PermissionDenied, "tenant %q: this key acts for tenant %q only", requested, a.p.Tenant)
		}
		return a.p.Tenant, nil
	}
	return "", errcode.New(errcode.PermissionDenied, "%s may not start executions", roleName(a.p.Role))
}

// ListTenant returns the tenant filter of a list of executions: a tenant
// key lists its own tenant's only; installation principals
// list what they ask for ("" for every tenant).
func (a Access) ListTenant(requested string) (string, error) {
	if !a.ok {
		return "", a.unauthenticated()
	}
	if a.p.Installation() {
		return requested, nil
	}
	switch a.p.Role {
	case identity.RoleTenant:
		if a.p.Tenant == "" {
			return "", errcode.New(errcode.PermissionDenied, "this key names no tenant")
		}
		if requested != "" && requested != a.p.Tenant {
			return "", errcode.New(errcode.PermissionDenied, "tenant %q: this key acts for tenant %q only", requested, a.p.Tenant)
		}
		return a.p.Tenant, nil
	}
	return "", errcode.New(errcode.PermissionDenied, "%s may not list executions", roleName(a.p.Role))
}

// SeeExecution reports whether the principal may see an execution of
// tenant (describe it, read its history, settle its task tokens).
func (a Access) SeeExecution(tenant string) bool {
	if !a.ok {
		return false
	}
	if a.p.Installation() {
		return true
	}
	if a.p.Role == identity.RoleTenant {
		return tenant != "" && a.p.Tenant == tenant
	}
	return false
}

// ChangeExecution reports whether the principal may stop or redrive an
// execution of tenant.
func (a Access) ChangeExecution(tenant string) bool {
	if !a.ok {
		return false
	}
	if a.p.Installation() {
		return true
	}
	return a.p.Role == identity.RoleTenant && tenant != "" && a.p.Tenant == tenant
}

// ExecutionNotFound is the error for an execution the caller may not see:
// the same as for one that does not exist.
func ExecutionNotFound(arn string) error {
	return errcode.New(errcode.NotFound, "execution %s does not exist", arn)
}

// Authorize returns nil when a may act on the execution arn (change: stop
// or redrive; otherwise see), and otherwise the error of a missing
// execution. An error describing the execution is returned as is.
func (e *Engine) Authorize(ctx context.Context, a Access, arn string, change bool) (*Execution, error) {
	if !a.ok {
		return nil, a.unauthenticated()
	}
	x, err := e.DescribeExecution(ctx, arn)
	if err != nil {
		return nil, err
	}
	if change && a.SeeExecution(x.Tenant) && !a.ChangeExecution(x.Tenant) {
		return nil, errcode.New(errcode.PermissionDenied, "%s may read but not stop or redrive executions", a.p.Role)
	}
	if !a.SeeExecution(x.Tenant) {
		return nil, ExecutionNotFound(arn)
	}
	return x, nil
}

// AuthorizeTask returns nil when a may settle the task of token, and
// otherwise the error of a task that does not exist.
func (e *Engine) AuthorizeTask(ctx context.Context, a Access, token string) error {
	if !a.ok {
		return a.unauthenticated()
	}
	if a.p.Role == identity.RoleOperator {
		// An operator's worker settles the activity tasks it holds.
		_, err := e.ActivityTaskTenant(ctx, token)
		return err
	}
	tenant, err := e.TaskTenant(ctx, token)
	if err != nil {
		return err
	}
	if !a.SeeExecution(tenant) {
		return errcode.Wrap(errcode.NotFound, ErrTaskDoesNotExist, "task token %s", short(token))
	}
	return nil
}
