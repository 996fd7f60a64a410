package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
)

// Tags, published versions and aliases of state machines, as Step
// Functions keeps them.

// Version is a published, immutable revision of a state machine.
type Version struct {
	ARN             string    `json:"stateMachineVersionArn"`
	StateMachineARN string    `json:"stateMachineArn"`
	Version         int64     `json:"version"`
	Definition      string    `json:"definition"`
	RoleARN         string    `json:"roleArn,omitempty"`
	Description     string    `json:"description,omitempty"`
	Revision        int64     `json:"revision"`
	CreatedAt       time.Time `json:"creationDate"`
}

// RoutingEntry sends Weight percent of an alias's starts to a version.
type RoutingEntry struct {
	VersionARN string `json:"stateMachineVersionArn"`
	Weight     int    `json:"weight"`
}

// Alias routes starts to one or two versions of a state machine.
type Alias struct {
	ARN         string         `json:"stateMachineAliasArn"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Routing     []RoutingEntry `json:"routingConfiguration"`
	CreatedAt   time.Time      `json:"creationDate"`
	UpdatedAt   time.Time      `json:"updateDate"`
}

// maxTags is the most tags a resource has (Step Functions: 50).
const maxTags = 50

// metaStore holds tags, versions and aliases.
type metaStore interface {
	TagList(ctx context.Context, tx dbtx, resourceARN string) (map[string]string, error)
	TagPut(ctx context.Context, tx dbtx, resourceARN, key, value string) error
	TagDelete(ctx context.Context, tx dbtx, resourceARN, key string) error
	// NextVersion returns the machine's next version number and bumps it.
	NextVersion(ctx context.Context, tx dbtx, smARN string) (int64, error)
	VersionInsert(ctx context.Context, tx dbtx, v *Version) error
	VersionGet(ctx context.Context, tx dbtx, arn string) (*Version, error)
	VersionList(ctx context.Context, tx dbtx, smARN string) ([]Version, error)
	VersionDelete(ctx context.Context, tx dbtx, arn string) error
	AliasPut(ctx context.Context, tx dbtx, smARN string, a *Alias, insert bool) error
	AliasGet(ctx context.Context, tx dbtx, arn string) (*Alias, error)
	AliasList(ctx context.Context, tx dbtx, smARN string) ([]Alias, error)
	AliasDelete(ctx context.Context, tx dbtx, arn string) error
	ExecutionDefinition(ctx context.Context, tx dbtx, arn string) (string, error)
}

var _ metaStore = (*sqlStore)(nil)

func (s *sqlStore) ph(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = s.placeholder(i + 1)
	}
	return out
}

func (s *sqlStore) TagList(ctx context.Context, tx dbtx, resourceARN string) (map[string]string, error) {
	r, err := tx.query(ctx, `SELECT tag_key, tag_value FROM wf_tags WHERE resource_arn = `+s.placeholder(1)+` ORDER BY tag_key`, resourceARN)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]string{}
	for r.Next() {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, r.Err()
}

func (s *sqlStore) TagPut(ctx context.Context, tx dbtx, resourceARN, key, value string) error {
	if _, err := tx.exec(ctx, fmt.Sprintf(`DELETE FROM wf_tags WHERE resource_arn = %s AND tag_key = %s`, s.ph(2)...), resourceARN, key); err != nil {
		return err
	}
	_, err := tx.exec(ctx, fmt.Sprintf(`INSERT INTO wf_tags (resource_arn, tag_key, tag_value) VALUES (%s, %s, %s)`, s.ph(3)...), resourceARN, key, value)
	return err
}

func (s *sqlStore) TagDelete(ctx context.Context, tx dbtx, resourceARN, key string) error {
	q := `DELETE FROM wf_tags WHERE resource_arn = ` + s.placeholder(1)
	args := []any{resourceARN}
	if key != "" {
		q += ` AND tag_key = ` + s.placeholder(2)
		args = append(args, key)
	}
	_, err := tx.exec(ctx, q, args...)
	return err
}

func (s *sqlStore) NextVersion(ctx context.Context, tx dbtx, smARN string) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT next_version FROM wf_state_machines WHERE arn = `+s.placeholder(1), smARN).Scan(&n)
	if err != nil {
		return 0, err
	}
	_, err = tx.exec(ctx, fmt.Sprintf(`UPDATE wf_state_machines SET next_version = next_version + 1 WHERE arn = %s`, s.ph(1)...), smARN)
	return n, err
}

const versionCols = `arn, sm_arn, version, definition, role_arn, description, revision, created_us`

func scanVersion(r row) (*Version, error) {
	v := &Version{}
	var c int64
	if err := r.Scan(&v.ARN, &v.StateMachineARN, &v.Version, &v.Definition, &v.RoleARN, &v.Description, &v.Revision, &c); err != nil {
		return nil, err
	}
	v.CreatedAt = fromMicros(c)
	return v, nil
}

func (s *sqlStore) VersionInsert(ctx context.Context, tx dbtx, v *Version) error {
	_, err := tx.exec(ctx, fmt.Sprintf(`INSERT INTO wf_sm_versions (`+versionCols+`) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)`, s.ph(8)...),
		v.ARN, v.StateMachineARN, v.Version, v.Definition, v.RoleARN, v.Description, v.Revision, micros(v.CreatedAt))
	return err
}

func (s *sqlStore) VersionGet(ctx context.Context, tx dbtx, arn string) (*Version, error) {
	return scanVersion(tx.queryRow(ctx, `SELECT `+versionCols+` FROM wf_sm_versions WHERE arn = `+s.placeholder(1), arn))
}

func (s *sqlStore) VersionList(ctx context.Context, tx dbtx, smARN string) ([]Version, error) {
	r, err := tx.query(ctx, `SELECT `+versionCols+` FROM wf_sm_versions WHERE sm_arn = `+s.placeholder(1)+` ORDER BY version DESC`, smARN)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Version
	for r.Next() {
		v, err := scanVersion(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, r.Err()
}

func (s *sqlStore) VersionDelete(ctx context.Context, tx dbtx, arn string) error {
	_, err := tx.exec(ctx, `DELETE FROM wf_sm_versions WHERE arn = `+s.placeholder(1), arn)
	return err
}

const aliasCols = `arn, name, description, routing, created_us, updated_us`

func scanAlias(r row) (*Alias, error) {
	a := &Alias{}
	var routing string
	var c, u int64
	if err := r.Scan(&a.ARN, &a.Name, &a.Description, &routing, &c, &u); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(routing), &a.Routing); err != nil {
		return nil, fmt.Errorf("alias %s: stored routing: %w", a.ARN, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(c), fromMicros(u)
	return a, nil
}

func (s *sqlStore) AliasPut(ctx context.Context, tx dbtx, smARN string, a *Alias, insert bool) error {
	routing, err := json.Marshal(a.Routing)
	if err != nil {
		return err
	}
	if insert {
		_, err = tx.exec(ctx, fmt.Sprintf(`INSERT INTO wf_sm_aliases (arn, sm_arn, name, description, routing, created_us, updated_us) VALUES (%s, %s, %s, %s, %s, %s, %s)`, s.ph(7)...),
			a.ARN, smARN, a.Name, a.Description, string(routing), micros(a.CreatedAt), micros(a.UpdatedAt))
		return err
	}
	_, err = tx.exec(ctx, fmt.Sprintf(`UPDATE wf_sm_aliases SET description = %s, routing = %s, updated_us = %s WHERE arn = %s`, s.ph(4)...),
		a.Description, string(routing), micros(a.UpdatedAt), a.ARN)
	return err
}

func (s *sqlStore) AliasGet(ctx context.Context, tx dbtx, arn string) (*Alias, error) {
	return scanAlias(tx.queryRow(ctx, `SELECT `+aliasCols+` FROM wf_sm_aliases WHERE arn = `+s.placeholder(1), arn))
}

func (s *sqlStore) AliasList(ctx context.Context, tx dbtx, smARN string) ([]Alias, error) {
	r, err := tx.query(ctx, `SELECT `+aliasCols+` FROM wf_sm_aliases WHERE sm_arn = `+s.placeholder(1)+` ORDER BY name`, smARN)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Alias
	for r.Next() {
		a, err := scanAlias(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, r.Err()
}

func (s *sqlStore) AliasDelete(ctx context.Context, tx dbtx, arn string) error {
	_, err := tx.exec(ctx, `DELETE FROM wf_sm_aliases WHERE arn = `+s.placeholder(1), arn)
	return err
}

// ---- ARNs ----

// roleARNPattern is an IAM role ARN: arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{1,12}:role/[\w+=,.@/-]{1,512}$`)

// validRoleARN checks a roleArn ("" is allowed: Landfall's own machines
// run with the engine's own rights).
func validRoleARN(arn string) error {
	if arn == "" {
		return nil
	}
	if err := validText("roleArn", arn, maxARNLength, false); err != nil {
		return err
	}
	if !roleARNPattern.MatchString(arn) {
		return errcode.New(errcode.Invalid, "roleArn %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", arn)
	}
	return nil
}

// Region and Account are the ones the engine's ARNs carry.
func (e *Engine) Region() string  { return e.cfg.Region }
func (e *Engine) Account() string { return e.cfg.Account }

// splitQualified splits a state machine ARN into the machine's ARN and
// a qualifier (a version number or an alias name; "" for none).
func splitQualified(arn string) (string, string) {
	parts := strings.Split(arn, ":")
	// arn:aws:states:REGION:ACCOUNT:stateMachine:NAME[:QUALIFIER]
	if len(parts) == 8 && parts[5] == "stateMachine" {
		return strings.Join(parts[:7], ":"), parts[7]
	}
	return arn, ""
}

// IsVersionARN reports whether arn names a published version.
func IsVersionARN(arn string) bool {
	_, q := splitQualified(arn)
	_, err := strconv.ParseInt(q, 10, 64)
	return q != "" && err == nil
}

// IsAliasARN reports whether arn names an alias.
func IsAliasARN(arn string) bool {
	_, q := splitQualified(arn)
	return q != "" && !IsVersionARN(arn)
}

// ---- tags ----

func validTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return errcode.New(errcode.Invalid, "tags: %d is more than the %d a resource may have", len(tags), maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errcode.New(errcode.Invalid, "tag key %q: must be 1 to 128 characters and not start with aws:", k)
		}
		if err := validText("tag key", k, 128, false); err != nil {
			return err
		}
		if err := validText("tag value", v, 256, false); err != nil {
			return errcode.New(errcode.Invalid, "tag %q: value: %s", k, errcode.MessageOf(err))
		}
	}
	return nil
}

// taggable checks that arn names a state machine, alias or activity.
func (e *Engine) taggable(ctx context.Context, tx dbtx, arn string) error {
	var err error
	switch {
	case IsAliasARN(arn):
		_, err = e.st.AliasGet(ctx, tx, arn)
	case strings.Contains(arn, ":stateMachine:"):
		_, err = e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: arn})
	case strings.Contains(arn, ":activity:"):
		_, err = e.st.ActivityGet(ctx, tx, &activityGetParams{ARN: arn})
	default:
		return errcode.New(errcode.NotFound, "resource %s does not exist: tags belong to state machines, aliases and activities", arn)
	}
	if errors.Is(err, errNoRows) {
		return errcode.New(errcode.NotFound, "resource %s does not exist", arn)
	}
	return err
}

// TagResource adds or replaces tags of a state machine, alias or activity.
func (e *Engine) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	if err := validARN("resourceArn", arn); err != nil {
		return err
	}
	if err := validTags(tags); err != nil {
		return err
	}
	return e.withTx(ctx, func(tx dbtx) error {
		if err := e.taggable(ctx, tx, arn); err != nil {
			return err
		}
		have, err := e.st.TagList(ctx, tx, arn)
		if err != nil {
			return err
		}
		n := len(have)
		for k := range tags {
			if _, ok := have[k]; !ok {
				n++
			}
		}
		if n > maxTags {
			return errcode.New(errcode.ResourceExhausted, "resource %s would have %d tags, more than the %d allowed", arn, n, maxTags)
		}
		for k, v := range tags {
			if err := e.st.TagPut(ctx, tx, arn, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// UntagResource removes tags by key (keys a resource lacks are ignored).
func (e *Engine) UntagResource(ctx context.Context, arn string, keys []string) error {
	if err := validARN("resourceArn", arn); err != nil {
		return err
	}
	for _, k := range keys {
		if err := validText("tag key", k, 128, false); err != nil || k == "" {
			return errcode.New(errcode.Invalid, "tag key %q: must be 1 to 128 characters", k)
		}
	}
	return e.withTx(ctx, func(tx dbtx) error {
		if err := e.taggable(ctx, tx, arn); err != nil {
			return err
		}
		for _, k := range keys {
			if err := e.st.TagDelete(ctx, tx, arn, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListTags returns a resource's tags.
func (e *Engine) ListTags(ctx context.Context, arn string) (map[string]string, error) {
	if err := validARN("resourceArn", arn); err != nil {
		return nil, err
	}
	var out map[string]string
	err := e.withTx(ctx, func(tx dbtx) error {
		if err := e.taggable(ctx, tx, arn); err != nil {
			return err
		}
		var err error
		out, err = e.st.TagList(ctx, tx, arn)
		return err
	})
	return out, err
}

// ---- versions ----

// publish records the machine's current revision as its next version.
func (e *Engine) publish(ctx context.Context, tx dbtx, sm *StateMachine, description string) (*Version, error) {
	if err := validText("versionDescription", description, 256, true); err != nil {
		return nil, err
	}
	// Publishing a revision that is already the newest version returns it.
	vs, err := e.st.VersionList(ctx, tx, sm.ARN)
	if err != nil {
		return nil, err
	}
	if len(vs) > 0 && vs[0].Revision == sm.Revision && vs[0].Definition == sm.Definition && vs[0].RoleARN == sm.RoleARN {
		return &vs[0], nil
	}
	if len(vs) >= 1000 {
		return nil, errcode.New(errcode.ResourceExhausted, "state machine %s has %d versions, the most allowed: delete some", sm.Name, len(vs))
	}
	n, err := e.st.NextVersion(ctx, tx, sm.ARN)
	if err != nil {
		return nil, err
	}
	v := &Version{ARN: fmt.Sprintf("%s:%d", sm.ARN, n), StateMachineARN: sm.ARN, Version: n, Definition: sm.Definition, RoleARN: sm.RoleARN,
		Description: description, Revision: sm.Revision, CreatedAt: e.now().UTC().Truncate(time.Microsecond)}
	return v, e.st.VersionInsert(ctx, tx, v)
}

// PublishVersion publishes the machine's current revision. A revisionID
// other than "" must be the current one (Step Functions'
// ConflictException otherwise).
func (e *Engine) PublishVersion(ctx context.Context, smARN, revisionID, description string) (*Version, error) {
	if err := validARN("stateMachineArn", smARN); err != nil {
		return nil, err
	}
	var v *Version
	err := e.withTx(ctx, func(tx dbtx) error {
		sm, err := e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: smARN})
		if errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine %s does not exist", smARN)
		}
		if err != nil {
			return err
		}
		if revisionID != "" && revisionID != strconv.FormatInt(sm.Revision, 10) {
			return errcode.New(errcode.AlreadyExists, "revisionId %s is not the current revision %d of %s", revisionID, sm.Revision, sm.Name)
		}
		v, err = e.publish(ctx, tx, sm, description)
		return err
	})
	return v, err
}

// ListVersions lists a machine's versions, newest first.
func (e *Engine) ListVersions(ctx context.Context, smARN string) ([]Version, error) {
	if err := validARN("stateMachineArn", smARN); err != nil {
		return nil, err
	}
	var out []Version
	err := e.withTx(ctx, func(tx dbtx) error {
		if _, err := e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: smARN}); errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine %s does not exist", smARN)
		} else if err != nil {
			return err
		}
		var err error
		out, err = e.st.VersionList(ctx, tx, smARN)
		return err
	})
	return out, err
}

// DescribeVersion returns a published version.
func (e *Engine) DescribeVersion(ctx context.Context, arn string) (*Version, error) {
	if err := validARN("stateMachineVersionArn", arn); err != nil {
		return nil, err
	}
	var v *Version
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		v, err = e.st.VersionGet(ctx, tx, arn)
		if errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine version %s does not exist", arn)
		}
		return err
	})
	return v, err
}

// DeleteVersion deletes a version no alias routes to (deleting a missing
// one succeeds, as in Step Functions).
func (e *Engine) DeleteVersion(ctx context.Context, arn string) error {
	if err := validARN("stateMachineVersionArn", arn); err != nil {
		return err
	}
	sm, _ := splitQualified(arn)
	return e.withTx(ctx, func(tx dbtx) error {
		as, err := e.st.AliasList(ctx, tx, sm)
		if err != nil {
			return err
		}
		for _, a := range as {
			for _, r := range a.Routing {
				if r.VersionARN == arn {
					return errcode.New(errcode.AlreadyExists, "version %s is routed to by alias %s: update or delete the alias first", arn, a.Name)
				}
			}
		}
		return e.st.VersionDelete(ctx, tx, arn)
	})
}

// ---- aliases ----

func (e *Engine) checkRouting(ctx context.Context, tx dbtx, smARN string, routing []RoutingEntry) error {
	if len(routing) < 1 || len(routing) > 2 {
		return errcode.New(errcode.Invalid, "routingConfiguration: want 1 or 2 versions, got %d", len(routing))
	}
	sum := 0
	for i, r := range routing {
		if r.Weight < 0 || r.Weight > 100 {
			return errcode.New(errcode.Invalid, "routingConfiguration/%d/weight %d: want 0 to 100", i, r.Weight)
		}
		sum += r.Weight
		base, _ := splitQualified(r.VersionARN)
		if !IsVersionARN(r.VersionARN) || base != smARN {
			return errcode.New(errcode.Invalid, "routingConfiguration/%d: %q is not a version of %s", i, r.VersionARN, smARN)
		}
		if _, err := e.st.VersionGet(ctx, tx, r.VersionARN); errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "routingConfiguration/%d: version %s does not exist", i, r.VersionARN)
		} else if err != nil {
			return err
		}
		if i == 1 && r.VersionARN == routing[0].VersionARN {
			return errcode.New(errcode.Invalid, "routingConfiguration: version %s is listed twice", r.VersionARN)
		}
	}
	if sum != 100 {
		return errcode.New(errcode.Invalid, "routingConfiguration: weights add up to %d, want 100", sum)
	}
	return nil
}

// CreateAlias creates an alias of the machine the routing's versions
// belong to. Creating the same alias again with the same routing and
// description returns it.
func (e *Engine) CreateAlias(ctx context.Context, name, description string, routing []RoutingEntry) (*Alias, error) {
	if err := validName("alias", name); err != nil {
		return nil, err
	}
	if _, err := strconv.Atoi(name); err == nil {
		return nil, errcode.New(errcode.Invalid, "alias name %q: must not be a number (numbers name versions)", name)
	}
	if err := validText("description", description, 256, true); err != nil {
		return nil, err
	}
	if len(routing) == 0 {
		return nil, errcode.New(errcode.Invalid, "routingConfiguration is required")
	}
	smARN, _ := splitQualified(routing[0].VersionARN)
	now := e.now().UTC().Truncate(time.Microsecond)
	a := &Alias{ARN: smARN + ":" + name, Name: name, Description: description, Routing: routing, CreatedAt: now, UpdatedAt: now}
	err := e.withTx(ctx, func(tx dbtx) error {
		if err := e.checkRouting(ctx, tx, smARN, routing); err != nil {
			return err
		}
		got, err := e.st.AliasGet(ctx, tx, a.ARN)
		if err == nil {
			if got.Description != description || !sameRouting(got.Routing, routing) {
				return errcode.New(errcode.AlreadyExists, "alias %s already exists with another routing or description", a.ARN)
			}
			a = got
			return nil
		}
		if !errors.Is(err, errNoRows) {
			return err
		}
		return e.st.AliasPut(ctx, tx, smARN, a, true)
	})
	return a, err
}

func sameRouting(a, b []RoutingEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// DescribeAlias returns an alias.
func (e *Engine) DescribeAlias(ctx context.Context, arn string) (*Alias, error) {
	if err := validARN("stateMachineAliasArn", arn); err != nil {
		return nil, err
	}
	var a *Alias
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		a, err = e.st.AliasGet(ctx, tx, arn)
		if errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine alias %s does not exist", arn)
		}
		return err
	})
	return a, err
}

// UpdateAlias changes an alias's description (when not nil) and routing
// (when not empty).
func (e *Engine) UpdateAlias(ctx context.Context, arn string, description *string, routing []RoutingEntry) (*Alias, error) {
	if err := validARN("stateMachineAliasArn", arn); err != nil {
		return nil, err
	}
	if description != nil {
		if err := validText("description", *description, 256, true); err != nil {
			return nil, err
		}
	}
	smARN, _ := splitQualified(arn)
	var a *Alias
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		a, err = e.st.AliasGet(ctx, tx, arn)
		if errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine alias %s does not exist", arn)
		}
		if err != nil {
			return err
		}
		if len(routing) > 0 {
			if err := e.checkRouting(ctx, tx, smARN, routing); err != nil {
				return err
			}
			a.Routing = routing
		}
		if description != nil {
			a.Description = *description
		}
		a.UpdatedAt = e.now().UTC().Truncate(time.Microsecond)
		return e.st.AliasPut(ctx, tx, smARN, a, false)
	})
	return a, err
}

// ListAliases lists a machine's aliases by name.
func (e *Engine) ListAliases(ctx context.Context, smARN string) ([]Alias, error) {
	if err := validARN("stateMachineArn", smARN); err != nil {
		return nil, err
	}
	var out []Alias
	err := e.withTx(ctx, func(tx dbtx) error {
		if _, err := e.st.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: smARN}); errors.Is(err, errNoRows) {
			return errcode.New(errcode.NotFound, "state machine %s does not exist", smARN)
		} else if err != nil {
			return err
		}
		var err error
		out, err = e.st.AliasList(ctx, tx, smARN)
		return err
	})
	return out, err
}

// DeleteAlias deletes an alias and its tags.
func (e *Engine) DeleteAlias(ctx context.Context, arn string) error {
	if err := validARN("stateMachineAliasArn", arn); err != nil {
		return err
	}
	return e.withTx(ctx, func(tx dbtx) error {
		if err := e.st.TagDelete(ctx, tx, arn, ""); err != nil {
			return err
		}
		return e.st.AliasDelete(ctx, tx, arn)
	})
}

// resolveStart returns what a start by arn runs: the machine, the
// definition and role (the version's when arn is a version or alias),
// and the qualified ARN the execution records.
func (e *Engine) resolveStart(ctx context.Context, arn string) (*StateMachine, string, error) {
	base, q := splitQualified(arn)
	sm, err := e.DescribeStateMachine(ctx, base)
	if err != nil || q == "" {
		return sm, "", err
	}
	versionARN := arn
	if IsAliasARN(arn) {
		a, err := e.DescribeAlias(ctx, arn)
		if err != nil {
			return nil, "", err
		}
		versionARN = pickVersion(a.Routing)
	}
	v, err := e.DescribeVersion(ctx, versionARN)
	if err != nil {
		return nil, "", err
	}
	sm.Definition, sm.RoleARN = v.Definition, v.RoleARN
	if versionARN != arn {
		return sm, versionARN + " " + arn, nil
	}
	return sm, arn, nil
}

// pickVersion chooses a version of a routing by weight.
func pickVersion(routing []RoutingEntry) string {
	n := rand.IntN(100)
	for _, r := range routing {
		if n < r.Weight {
			return r.VersionARN
		}
		n -= r.Weight
	}
	return routing[len(routing)-1].VersionARN
}

// checkResources refuses a definition with a Task whose resource nothing
// serves: no invoker is registered for it, or it is an activity of
// another region or account. The error names the state and its JSON
// pointer, so the definition fails when created or updated, not when an
// execution reaches the state.
func (e *Engine) checkResources(def []byte) error {
	m, err := asl.Parse(def, asl.ParseOptions{})
	if err != nil {
		return nil // compile reports it
	}
	var problems asl.ValidationErrors
	walkTasks(m.Definition(), "", func(pointer, state, resource string) {
		if msg := e.unserved(resource); msg != "" {
			problems = append(problems, asl.ValidationError{Code: "SCHEMA_VALIDATION_FAILED", Pointer: pointer + "/Resource",
				Message: fmt.Sprintf("state %q: resource %q: %s", state, resource, msg)})
		}
	})
	if len(problems) > 0 {
		return errcode.Wrap(errcode.Invalid, problems, "invalid state machine definition")
	}
	return nil
}

// unserved says why nothing serves resource ("" when something does).
func (e *Engine) unserved(resource string) string {
	base := resource
	for _, suffix := range []string{".waitForTaskToken", ".sync:2", ".sync"} {
		if b, ok := strings.CutSuffix(base, suffix); ok {
			base = b
			break
		}
	}
	if name, ok := activityName(base); ok && base == resource {
		want := e.arn("activity", name)
		if base != want {
			return fmt.Sprintf("an activity of this engine has the ARN %s", want)
		}
		return ""
	}
	if len(e.cfg.Resources.Prefixes()) == 0 {
		// A process that registers no invokers (an API process whose
		// workers register them) cannot tell what serves the resource.
		return ""
	}
	if _, ok := e.cfg.Resources.Lookup(base); ok {
		return ""
	}
	if _, ok := e.cfg.Resources.Lookup(resource); ok {
		return ""
	}
	return fmt.Sprintf("nothing serves it here (served: %s, and activities of this engine)", strings.Join(e.cfg.Resources.Prefixes(), ", "))
}

// walkTasks calls f for every Task state of a decoded definition,
// including those of Parallel branches and Map item processors.
func walkTasks(v any, pointer string, f func(pointer, state, resource string)) {
	top, ok := v.(map[string]any)
	if !ok {
		return
	}
	states, _ := top["States"].(map[string]any)
	for name, sv := range states {
		st, ok := sv.(map[string]any)
		if !ok {
			continue
		}
		p := pointer + "/States/" + jsonPointerEscape(name)
		switch st["Type"] {
		case "Task":
			if r, ok := st["Resource"].(string); ok {
				f(p, name, r)
			}
		case "Parallel":
			bs, _ := st["Branches"].([]any)
			for i, b := range bs {
				walkTasks(b, fmt.Sprintf("%s/Branches/%d", p, i), f)
			}
		case "Map":
			for _, k := range []string{"ItemProcessor", "Iterator"} {
				if b, ok := st[k]; ok {
					walkTasks(b, p+"/"+k, f)
				}
			}
		}
	}
}

func jsonPointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// ExecutionDefinition returns the definition an execution runs (the one
// its machine or version had when it started).
func (e *Engine) ExecutionDefinition(ctx context.Context, arn string) (string, error) {
	if err := validARN("execution ARN", arn); err != nil {
		return "", err
	}
	var def string
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		def, err = e.st.ExecutionDefinition(ctx, tx, arn)
		if errors.Is(err, errNoRows) {
			return ExecutionNotFound(arn)
		}
		return err
	})
	return def, err
}

func (s *sqlStore) ExecutionDefinition(ctx context.Context, tx dbtx, arn string) (string, error) {
	var def string
	err := tx.queryRow(ctx, `SELECT definition FROM wf_executions WHERE arn = `+s.placeholder(1), arn).Scan(&def)
	return def, err
}

// TestState runs one state as Step Functions' TestState does. A Task
// without a mock is invoked through the engine's invokers for tenant;
// a callback (.waitForTaskToken) Task needs a mock.
func (e *Engine) TestState(ctx context.Context, req asl.TestStateRequest, tenant string) (*asl.TestStateResult, error) {
	tasks := asl.TaskHandlerFunc(func(ctx context.Context, tr *asl.TaskRequest) (any, error) {
		if tr.Pattern == asl.WaitForTaskToken {
			return nil, &asl.TaskError{Name: "States.Runtime", Cause: "a .waitForTaskToken task is tested with a mock result or error"}
		}
		res := tr.Resource
		if tr.Pattern == asl.Sync {
			res = strings.Replace(res, ".sync", "", 1)
		}
		inv, ok := e.cfg.Resources.Lookup(res)
		if !ok {
			return nil, &asl.TaskError{Name: "States.TaskFailed", Cause: fmt.Sprintf("resource %q: %s", tr.Resource, e.unserved(tr.Resource))}
		}
		in, err := json.Marshal(tr.Input)
		if err != nil {
			return nil, &asl.TaskError{Name: "States.Runtime", Cause: err.Error()}
		}
		out, err := invokeSafely(ctx, inv, Invocation{ExecutionARN: "", Tenant: tenant, StatePath: "/" + tr.State, Attempt: tr.Attempt,
			IdempotencyKey: "test-state-" + randomID(8), Resource: res, Input: in, Heartbeat: func(context.Context) error { return nil }})
		if err != nil {
			name, cause := taskErrorOf(err)
			return nil, &asl.TaskError{Name: name, Cause: cause}
		}
		v, err := decodeValue(out)
		if err != nil {
			return nil, &asl.TaskError{Name: "States.Runtime", Cause: fmt.Sprintf("resource %q returned invalid JSON", tr.Resource)}
		}
		return v, nil
	})
	tctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return asl.TestState(tctx, req, asl.RunOptions{Tasks: tasks})
}

// ValidateDefinition checks a definition as CreateStateMachine would for
// a machine of type typ (default STANDARD), without storing anything.
func (e *Engine) ValidateDefinition(def, typ string) error {
	if err := validText("definition", def, maxDefinitionBytes, true); err != nil {
		return err
	}
	if _, err := e.compile([]byte(def)); err != nil {
		return err
	}
	if typ == "EXPRESS" {
		if _, err := asl.Parse([]byte(def), asl.ParseOptions{Express: true}); err != nil {
			return errcode.Wrap(errcode.Invalid, err, "invalid EXPRESS state machine definition")
		}
	}
	return e.checkResources([]byte(def))
}

// WellFormedToken reports whether token has the form of the engine's task
// tokens (48 lowercase hex digits), so a protocol can tell a malformed
// token from one that names no task.
func WellFormedToken(token string) bool {
	return len(token) == 48 && strings.Trim(token, "0123456789abcdef") == ""
}
