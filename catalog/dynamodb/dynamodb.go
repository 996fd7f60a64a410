// Package dynamodb is the catalog driver for Amazon DynamoDB, registered as
// the "dynamodb" URL scheme. It is the catalog of the AWS deployment
// (`landfall deploy aws` creates its tables), so a local install pointed at
// the same tables reads and writes the same records as the Lambda
// functions:
//
//	dynamodb://?region=eu-west-1&prefix=landfall-prod-
//	dynamodb://?endpoint=http://127.0.0.1:8000&region=us-east-1&create_tables=1
//
// Credentials come from the AWS SDK's default chain. Parameters: region,
// endpoint (a DynamoDB-compatible server), prefix (of the table names,
// default "landfall-") and create_tables=1 (create missing tables and wait
// for them; for local servers and tests, never needed on AWS).
//
// # Tables
//
// Three tables, named <prefix>media, <prefix>failures and <prefix>catalog
// (Tables gives their definitions, which the CloudFormation template uses
// too):
//
//   - media: one item per media item, keyed by media_id with sort key
//     created_at. Four global secondary indexes answer MediaList in one
//     key-condition query, newest first, without a filter: tenant, tenant
//     and status, tenant and kind, tenant, status and kind, each sorted by
//     created time then media id (the attribute ck). The transcript and
//     captions live in the bucket; the item holds their keys.
//   - failures: keyed by the numeric failure id, with an index on tenant
//     and failed time.
//   - catalog: tenants, counters (failure and usage ids, the bytes each
//     tenant stores), the usage ledger (partition usage#<tenant>, sorted by
//     time) and the once-per-execution guards of failures.
//
// # Gaps
//
// The driver implements Partial: it lacks api-keys, search, outbox,
// rules and reviews, whose methods return errcode.NotImplemented
// (MediaUpdate accepts a Transcript and indexes nothing; an AWS deployment
// authenticates with IAM, routes events through EventBridge, and searches
// with a separate index; the review queue is not built on DynamoDB yet).
// Asynchronous jobs' task tokens are items of the catalog table
// (partition job#<service>, sort key the job id).
// Changes that the SQL drivers make in one
// transaction are made here as a sequence of conditional writes, each
// safe to repeat: a media row and its tenant's stored-bytes counter, a
// failure row, its guard and the media row it marks FAILED. A process that
// dies between two of them can leave the counter off by that item's size,
// or a guard without its failure row (the next record of that execution
// then writes the row). Version checks on media rows are conditional
// writes, so racing updates still have exactly one winner.
package dynamodb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dt "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func init() {
	catalog.Register("dynamodb", func(ctx context.Context, u *url.URL, opts catalog.Options) (catalog.Store, error) {
		if u.User != nil || u.Host != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
			return nil, errcode.New(errcode.Invalid, "catalog: dynamodb URL %q: takes only parameters (dynamodb://?region=…&prefix=…)", u.Redacted())
		}
		q := u.Query()
		cfg := Config{Region: q.Get("region"), Endpoint: q.Get("endpoint"), Prefix: q.Get("prefix")}
		for k := range q {
			switch k {
			case "region", "endpoint", "prefix", "create_tables":
			default:
				return nil, errcode.New(errcode.Invalid, "catalog: dynamodb URL: unknown parameter %q (known: region, endpoint, prefix, create_tables)", k)
			}
		}
		switch v := q.Get("create_tables"); v {
		case "", "0", "false":
		case "1", "true":
			cfg.CreateTables = true
		default:
			return nil, errcode.New(errcode.Invalid, "catalog: dynamodb URL: create_tables: want 1 or 0, got %q", v)
		}
		return Open(ctx, cfg, opts)
	})
}

// Config configures Open.
type Config struct {
	// Client, when set, is used as it is (Region and Endpoint are then
	// ignored).
	Client   *ddb.Client
	Region   string
	Endpoint string
	// Prefix of the table names; DefaultPrefix when empty.
	Prefix string
	// CreateTables creates missing tables (with Tables' definitions) and
	// waits until they are active.
	CreateTables bool
	// TablesExist skips checking the tables at Open (a deployed stack
	// created them), so the caller needs no dynamodb:DescribeTable.
	TablesExist bool
}

// DefaultPrefix is the table-name prefix when none is given.
const DefaultPrefix = "landfall-"

// Store is the DynamoDB catalog.
type Store struct {
	c                         *ddb.Client
	media, failures, catTable string
	now                       func() time.Time
	closed                    atomic.Bool
}

var _ catalog.Store = (*Store)(nil)
var _ catalog.Partial = (*Store)(nil)

// Open connects to DynamoDB and checks (or, with CreateTables, creates)
// the catalog's tables.
func Open(ctx context.Context, cfg Config, opts catalog.Options) (*Store, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := validPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	c := cfg.Client
	if c == nil {
		var lo []func(*config.LoadOptions) error
		if cfg.Region != "" {
			lo = append(lo, config.WithRegion(cfg.Region))
		}
		ac, err := config.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "catalog: dynamodb: AWS configuration")
		}
		if ac.Region == "" {
			return nil, errcode.New(errcode.Invalid, "catalog: dynamodb: no region (set region= in the URL or AWS_REGION)")
		}
		c = ddb.NewFromConfig(ac, func(o *ddb.Options) {
			if cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
		})
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{c: c, media: cfg.Prefix + "media", failures: cfg.Prefix + "failures", catTable: cfg.Prefix + "catalog", now: now}
	if cfg.TablesExist {
		return s, nil
	}
	for _, def := range Tables(cfg.Prefix) {
		if err := s.ensureTable(ctx, def, cfg.CreateTables); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func validPrefix(p string) error {
	if len(p) > 200 {
		return errcode.New(errcode.Invalid, "catalog: dynamodb: prefix: longer than 200 bytes")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errcode.New(errcode.Invalid, "catalog: dynamodb: prefix: %q has a character other than letters, digits and -_. at byte %d", p, i)
		}
	}
	return nil
}

func (s *Store) ensureTable(ctx context.Context, def *ddb.CreateTableInput, create bool) error {
	_, err := s.c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: def.TableName})
	var nf *dt.ResourceNotFoundException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &nf):
		return dynErr(err, "describe table "+*def.TableName)
	case !create:
		return errcode.New(errcode.FailedPrecond, "catalog: dynamodb: table %s does not exist (deploy the stack, or open with create_tables=1)", *def.TableName)
	}
	if _, err := s.c.CreateTable(ctx, def); err != nil {
		var inUse *dt.ResourceInUseException
		if !errors.As(err, &inUse) {
			return dynErr(err, "create table "+*def.TableName)
		}
	}
	w := ddb.NewTableExistsWaiter(s.c, func(o *ddb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond; o.MaxDelay = time.Second })
	return dynErr(w.Wait(ctx, &ddb.DescribeTableInput{TableName: def.TableName}, 2*time.Minute), "wait for table "+*def.TableName)
}

// Index names. They start cat_media_tenant_ like the SQL drivers' indexes.
const (
	IndexTenant           = "cat_media_tenant_created"
	IndexTenantStatus     = "cat_media_tenant_status_created"
	IndexTenantKind       = "cat_media_tenant_kind_created"
	IndexTenantStatusKind = "cat_media_tenant_status_kind_created"
	IndexFailuresTenant   = "cat_failures_tenant_failed"
)

// Tables returns the definitions of the catalog's tables for a prefix, in
// the DynamoDB API's shape. Billing is on demand: an idle catalog costs
// only its storage.
func Tables(prefix string) []*ddb.CreateTableInput {
	s := func(name string) dt.AttributeDefinition {
		return dt.AttributeDefinition{AttributeName: aws.String(name), AttributeType: dt.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []dt.KeySchemaElement {
		k := []dt.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: dt.KeyTypeHash}}
		if rng != "" {
			k = append(k, dt.KeySchemaElement{AttributeName: aws.String(rng), KeyType: dt.KeyTypeRange})
		}
		return k
	}
	gsi := func(name, hash, rng string) dt.GlobalSecondaryIndex {
		return dt.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: key(hash, rng),
			Projection: &dt.Projection{ProjectionType: dt.ProjectionTypeAll}}
	}
	return []*ddb.CreateTableInput{
		{
			TableName:            aws.String(prefix + "media"),
			BillingMode:          dt.BillingModePayPerRequest,
			AttributeDefinitions: []dt.AttributeDefinition{s("media_id"), s("created_at"), s("tenant_id"), s("ts"), s("tk"), s("tsk"), s("ck")},
			KeySchema:            key("media_id", "created_at"),
			GlobalSecondaryIndexes: []dt.GlobalSecondaryIndex{
				gsi(IndexTenant, "tenant_id", "ck"),
				gsi(IndexTenantStatus, "ts", "ck"),
				gsi(IndexTenantKind, "tk", "ck"),
				gsi(IndexTenantStatusKind, "tsk", "ck"),
			},
		},
		{
			TableName:              aws.String(prefix + "failures"),
			BillingMode:            dt.BillingModePayPerRequest,
			AttributeDefinitions:   []dt.AttributeDefinition{{AttributeName: aws.String("failure_id"), AttributeType: dt.ScalarAttributeTypeN}, s("tenant_id"), s("fk")},
			KeySchema:              key("failure_id", ""),
			GlobalSecondaryIndexes: []dt.GlobalSecondaryIndex{gsi(IndexFailuresTenant, "tenant_id", "fk")},
		},
		{
			TableName:            aws.String(prefix + "catalog"),
			BillingMode:          dt.BillingModePayPerRequest,
			AttributeDefinitions: []dt.AttributeDefinition{s("pk"), s("sk")},
			KeySchema:            key("pk", "sk"),
		},
	}
}

// Name is "dynamodb".
func (s *Store) Name() string { return "dynamodb" }

// Client returns the DynamoDB client (for tests and tools).
func (s *Store) Client() *ddb.Client { return s.c }

// Unsupported lists the features this driver lacks.
func (s *Store) Unsupported() []catalog.Feature {
	return []catalog.Feature{catalog.FeatureAPIKeys, catalog.FeatureSearch, catalog.FeatureOutbox, catalog.FeatureRules, catalog.FeatureReviews}
}

func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Store) live() error {
	if s.closed.Load() {
		return catalog.ErrClosed
	}
	return nil
}

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// timeFormat is fixed-width, so times sort as strings.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func tstr(t time.Time) string { return micro(t).Format(timeFormat) }

func parseT(s string) (time.Time, error) { return time.Parse(timeFormat, s) }

// dynErr wraps a DynamoDB error: the caller's message names the catalog
// operation only; the SDK's error (table names, request ids) is logged
// and stays in the chain.
func dynErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *errcode.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return errcode.Wrap(errcode.Canceled, err, "catalog: %s", what)
	case errors.Is(err, context.DeadlineExceeded):
		return errcode.Wrap(errcode.DeadlineExceeded, err, "catalog: %s", what)
	}
	slog.Warn("catalog: dynamodb error", "op", what, "err", err)
	return &errcode.Error{Code: errcode.Unavailable, Message: fmt.Sprintf("catalog: %s: the database failed (details are in the server log)", what), Err: driverError{err}}
}

type driverError struct{ err error }

func (driverError) Error() string   { return "database error" }
func (e driverError) Unwrap() error { return e.err }

func conditionFailed(err error) bool {
	var cf *dt.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// ---- attribute helpers ----

type item = map[string]dt.AttributeValue

func avS(v string) dt.AttributeValue { return &dt.AttributeValueMemberS{Value: v} }
func avN(v int64) dt.AttributeValue {
	return &dt.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func avF(v float64) dt.AttributeValue {
	return &dt.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'g', -1, 64)}
}

// putS sets a string attribute; empty strings are left out (they are the
// zero value when read back).
func putS(it item, k, v string) {
	if v != "" {
		it[k] = avS(v)
	}
}

func getS(it item, k string) string {
	if v, ok := it[k].(*dt.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it item, k string) int64 {
	if v, ok := it[k].(*dt.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getF(it item, k string) float64 {
	if v, ok := it[k].(*dt.AttributeValueMemberN); ok {
		f, _ := strconv.ParseFloat(v.Value, 64)
		return f
	}
	return 0
}

func getBool(it item, k string) bool {
	v, ok := it[k].(*dt.AttributeValueMemberBOOL)
	return ok && v.Value
}

func getT(it item, k string) (time.Time, error) {
	v := getS(it, k)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseT(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", k, err)
	}
	return t, nil
}

func catKey(pk, sk string) item { return item{"pk": avS(pk), "sk": avS(sk)} }

// ---- tenants ----

const pkTenants = "tenants"

func tenantItem(t *catalog.Tenant) item {
	it := catKey(pkTenants, t.ID)
	putS(it, "name", t.Name)
	it["created_at"] = avS(tstr(t.CreatedAt))
	if t.DisabledAt != nil {
		it["disabled_at"] = avS(tstr(*t.DisabledAt))
	}
	return it
}

func tenantFrom(it item) (*catalog.Tenant, error) {
	t := &catalog.Tenant{ID: getS(it, "sk"), Name: getS(it, "name")}
	var err error
	if t.CreatedAt, err = getT(it, "created_at"); err != nil {
		return nil, err
	}
	if d, err := getT(it, "disabled_at"); err != nil {
		return nil, err
	} else if !d.IsZero() {
		t.DisabledAt = &d
	}
	return t, nil
}

func (s *Store) TenantCreate(ctx context.Context, p *catalog.TenantCreateParams) (*catalog.Tenant, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("id", p.ID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateText("name", p.Name, 200); err != nil {
		return nil, err
	}
	t := &catalog.Tenant{ID: p.ID, Name: p.Name, CreatedAt: s.clock()}
	_, err := s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.catTable, Item: tenantItem(t),
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if conditionFailed(err) {
		if !p.IfNotExists {
			return nil, errcode.New(errcode.AlreadyExists, "catalog: tenant %q already exists", p.ID)
		}
		return s.tenantGet(ctx, p.ID)
	}
	if err != nil {
		return nil, dynErr(err, "insert tenant")
	}
	return t, nil
}

func (s *Store) tenantGet(ctx context.Context, id string) (*catalog.Tenant, error) {
	out, err := s.c.GetItem(ctx, &ddb.GetItemInput{TableName: &s.catTable, Key: catKey(pkTenants, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dynErr(err, "read tenant")
	}
	if out.Item == nil {
		return nil, catalog.NotFound("tenant", id)
	}
	t, err := tenantFrom(out.Item)
	return t, dynErr(err, "read tenant")
}

// tenantExists checks a tenant named in a request: missing is NotFound.
func (s *Store) tenantExists(ctx context.Context, field, id string) error {
	if err := catalog.ValidateTenantID(field, id); err != nil {
		return err
	}
	_, err := s.tenantGet(ctx, id)
	return err
}

func (s *Store) TenantGet(ctx context.Context, p *catalog.TenantGetParams) (*catalog.Tenant, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("id", p.ID); err != nil {
		return nil, err
	}
	return s.tenantGet(ctx, p.ID)
}

func (s *Store) TenantList(ctx context.Context, p *catalog.TenantListParams) ([]*catalog.Tenant, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	var out []*catalog.Tenant
	err := s.queryAll(ctx, &ddb.QueryInput{TableName: &s.catTable, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: item{":pk": avS(pkTenants)}, ConsistentRead: aws.Bool(true)}, func(it item) (bool, error) {
		t, err := tenantFrom(it)
		if err != nil {
			return false, err
		}
		out = append(out, t)
		return true, nil
	})
	return out, dynErr(err, "list tenants")
}

// queryAll runs a query page after page, calling fn on each item until it
// returns false.
func (s *Store) queryAll(ctx context.Context, in *ddb.QueryInput, fn func(item) (bool, error)) error {
	for {
		out, err := s.c.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			more, err := fn(it)
			if err != nil || !more {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (s *Store) setTenantDisabled(ctx context.Context, id string, disable bool) (*catalog.Tenant, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("id", id); err != nil {
		return nil, err
	}
	in := &ddb.UpdateItemInput{TableName: &s.catTable, Key: catKey(pkTenants, id), ReturnValues: dt.ReturnValueAllNew,
		ConditionExpression: aws.String("attribute_exists(pk)")}
	if disable {
		in.UpdateExpression = aws.String("SET disabled_at = if_not_exists(disabled_at, :now)")
		in.ExpressionAttributeValues = item{":now": avS(tstr(s.clock()))}
	} else {
		in.UpdateExpression = aws.String("REMOVE disabled_at")
	}
	out, err := s.c.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return nil, catalog.NotFound("tenant", id)
	}
	if err != nil {
		return nil, dynErr(err, "update tenant")
	}
	t, err := tenantFrom(out.Attributes)
	return t, dynErr(err, "update tenant")
}

func (s *Store) TenantDisable(ctx context.Context, p *catalog.TenantDisableParams) (*catalog.Tenant, error) {
	return s.setTenantDisabled(ctx, p.ID, true)
}

func (s *Store) TenantEnable(ctx context.Context, p *catalog.TenantEnableParams) (*catalog.Tenant, error) {
	return s.setTenantDisabled(ctx, p.ID, false)
}

func (s *Store) count(ctx context.Context, in *ddb.QueryInput) (int64, error) {
	in.Select = dt.SelectCount
	var n int64
	for {
		out, err := s.c.Query(ctx, in)
		if err != nil {
			return 0, err
		}
		n += int64(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (s *Store) TenantDelete(ctx context.Context, p *catalog.TenantDeleteParams) error {
	if err := s.live(); err != nil {
		return err
	}
	if err := catalog.ValidateTenantID("id", p.ID); err != nil {
		return err
	}
	if _, err := s.tenantGet(ctx, p.ID); err != nil {
		return err
	}
	for _, c := range []struct {
		what string
		in   *ddb.QueryInput
	}{
		{"media items", &ddb.QueryInput{TableName: &s.media, IndexName: aws.String(IndexTenant), KeyConditionExpression: aws.String("tenant_id = :t"),
			ExpressionAttributeValues: item{":t": avS(p.ID)}}},
		{"failures", &ddb.QueryInput{TableName: &s.failures, IndexName: aws.String(IndexFailuresTenant), KeyConditionExpression: aws.String("tenant_id = :t"),
			ExpressionAttributeValues: item{":t": avS(p.ID)}}},
		{"usage entries", &ddb.QueryInput{TableName: &s.catTable, KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: item{":pk": avS(pkUsage + p.ID)}}},
	} {
		n, err := s.count(ctx, c.in)
		if err != nil {
			return dynErr(err, "count "+c.what)
		}
		if n > 0 {
			return errcode.New(errcode.FailedPrecond, "catalog: tenant %s still has %d %s; delete them first or disable the tenant instead", p.ID, n, c.what)
		}
	}
	_, err := s.c.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: &s.catTable, Key: catKey(pkTenants, p.ID),
		ConditionExpression: aws.String("attribute_exists(pk)")})
	if conditionFailed(err) {
		return catalog.NotFound("tenant", p.ID)
	}
	if err != nil {
		return dynErr(err, "delete tenant")
	}
	_, err = s.c.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: &s.catTable, Key: catKey(pkBytes, p.ID)})
	return dynErr(err, "delete tenant")
}

// ---- features this driver lacks ----

func (s *Store) APIKeyCreate(context.Context, *catalog.APIKeyCreateParams) (*catalog.APIKeyCreateResult, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureAPIKeys)
}
func (s *Store) APIKeyLookup(context.Context, *catalog.APIKeyLookupParams) (*catalog.APIKey, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureAPIKeys)
}
func (s *Store) APIKeyList(context.Context, *catalog.APIKeyListParams) ([]*catalog.APIKey, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureAPIKeys)
}
func (s *Store) APIKeyRevoke(context.Context, *catalog.APIKeyRevokeParams) (*catalog.APIKey, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureAPIKeys)
}
func (s *Store) APIKeyRotate(context.Context, *catalog.APIKeyRotateParams) (*catalog.APIKeyCreateResult, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureAPIKeys)
}
func (s *Store) APIKeyExpire(context.Context, *catalog.APIKeyExpireParams) (*catalog.APIKey, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureAPIKeys)
}
func (s *Store) SearchQuery(context.Context, *catalog.SearchQueryParams) ([]*catalog.SearchHit, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureSearch)
}
func (s *Store) OutboxInsert(context.Context, *catalog.OutboxInsertParams) error {
	return catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
}
func (s *Store) OutboxClaim(context.Context, *catalog.OutboxClaimParams) ([]*catalog.OutboxEvent, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
}
func (s *Store) OutboxAck(context.Context, *catalog.OutboxAckParams) (int, error) {
	return 0, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
}
func (s *Store) OutboxRelease(context.Context, *catalog.OutboxReleaseParams) (int, error) {
	return 0, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
}
func (s *Store) DeliveryMark(context.Context, *catalog.DeliveryMarkParams) (bool, error) {
	return false, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
}
func (s *Store) DeliveryPrune(context.Context, *catalog.DeliveryPruneParams) (int, error) {
	return 0, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
}
func (s *Store) RulePut(context.Context, *catalog.RulePutParams) (*catalog.Rule, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureRules)
}
func (s *Store) RuleGet(context.Context, *catalog.RuleGetParams) (*catalog.Rule, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureRules)
}
func (s *Store) RuleList(context.Context, *catalog.RuleListParams) (*catalog.RuleSet, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureRules)
}
func (s *Store) RuleDelete(context.Context, *catalog.RuleDeleteParams) error {
	return catalog.NotImplemented("dynamodb", catalog.FeatureRules)
}
func (s *Store) RulesVersion(context.Context, *catalog.RulesVersionParams) (int64, error) {
	return 0, catalog.NotImplemented("dynamodb", catalog.FeatureRules)
}

// ---- counters ----

const (
	pkCounters = "counters"
	pkBytes    = "bytes"
	pkUsage    = "usage#"
	pkGuard    = "failure-execution"
)

// nextID allocates the next id of a sequence (1, 2, …).
func (s *Store) nextID(ctx context.Context, seq string) (int64, error) {
	out, err := s.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &s.catTable, Key: catKey(pkCounters, seq),
		UpdateExpression: aws.String("ADD n :one"), ExpressionAttributeValues: item{":one": avN(1)}, ReturnValues: dt.ReturnValueUpdatedNew})
	if err != nil {
		return 0, dynErr(err, "allocate "+seq+" id")
	}
	return getN(out.Attributes, "n"), nil
}

// addBytes adds delta to a tenant's stored bytes; with max > 0 the add is
// refused (false) when the total would pass max.
func (s *Store) addBytes(ctx context.Context, tenant string, delta, max int64) (bool, error) {
	if delta == 0 && max <= 0 {
		return true, nil
	}
	in := &ddb.UpdateItemInput{TableName: &s.catTable, Key: catKey(pkBytes, tenant),
		UpdateExpression: aws.String("ADD n :d"), ExpressionAttributeValues: item{":d": avN(delta)}}
	if max > 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(n) OR n <= :room")
		in.ExpressionAttributeValues[":room"] = avN(max - delta)
		if delta > max {
			return false, nil
		}
	}
	_, err := s.c.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, dynErr(err, "update stored bytes")
}

func (s *Store) storedBytes(ctx context.Context, tenant string) (int64, error) {
	out, err := s.c.GetItem(ctx, &ddb.GetItemInput{TableName: &s.catTable, Key: catKey(pkBytes, tenant), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, dynErr(err, "sum stored bytes")
	}
	return getN(out.Item, "n"), nil
}

func (s *Store) MediaStoredBytes(ctx context.Context, p *catalog.MediaStoredBytesParams) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return 0, err
	}
	return s.storedBytes(ctx, p.TenantID)
}

// ---- media ----

// ck is the media indexes' sort key: created time, then id.
func ck(created time.Time, id string) string { return tstr(created) + "#" + id }

func mediaItem(m *catalog.Media) (item, error) {
	it := item{
		"media_id": avS(m.ID), "created_at": avS(tstr(m.CreatedAt)), "tenant_id": avS(m.TenantID),
		"status": avS(string(m.Status)), "version": avN(m.Version), "updated_at": avS(tstr(m.UpdatedAt)),
		"size": avN(m.Size), "duration": avF(m.Duration),
		"ck": avS(ck(m.CreatedAt, m.ID)), "ts": avS(m.TenantID + "#" + string(m.Status)),
	}
	if m.Kind != "" {
		putS(it, "kind", string(m.Kind))
		it["tk"] = avS(m.TenantID + "#" + string(m.Kind))
		it["tsk"] = avS(m.TenantID + "#" + string(m.Status) + "#" + string(m.Kind))
	}
	putS(it, "bucket_key", m.BucketKey)
	putS(it, "filename", m.Filename)
	putS(it, "content_type", m.ContentType)
	putS(it, "sha256", m.SHA256)
	putS(it, "execution_id", m.ExecutionID)
	putS(it, "summary", m.Summary)
	putS(it, "transcript_key", m.TranscriptKey)
	putS(it, "captions_key", m.CaptionsKey)
	putS(it, "error", m.Error)
	putS(it, "cause", m.Cause)
	if m.Insights != nil {
		b, err := json.Marshal(m.Insights)
		if err != nil {
			return nil, catalog.Invalidf("insights: %v", err)
		}
		it["insights"] = avS(string(b))
	}
	return it, nil
}

func mediaFrom(it item) (*catalog.Media, error) {
	m := &catalog.Media{
		ID: getS(it, "media_id"), TenantID: getS(it, "tenant_id"), BucketKey: getS(it, "bucket_key"),
		Filename: getS(it, "filename"), ContentType: getS(it, "content_type"), Size: getN(it, "size"),
		SHA256: getS(it, "sha256"), Kind: types.Kind(getS(it, "kind")), Status: types.Status(getS(it, "status")),
		Version: getN(it, "version"), Duration: getF(it, "duration"), ExecutionID: getS(it, "execution_id"),
		Summary: getS(it, "summary"), TranscriptKey: getS(it, "transcript_key"), CaptionsKey: getS(it, "captions_key"),
		Error: getS(it, "error"), Cause: getS(it, "cause"),
	}
	var err error
	if m.CreatedAt, err = getT(it, "created_at"); err != nil {
		return nil, err
	}
	if m.UpdatedAt, err = getT(it, "updated_at"); err != nil {
		return nil, err
	}
	if ins := getS(it, "insights"); ins != "" {
		m.Insights = new(types.Insights)
		if err := json.Unmarshal([]byte(ins), m.Insights); err != nil {
			return nil, fmt.Errorf("media %s: stored insights: %w", m.ID, err)
		}
	}
	return m, nil
}

func (s *Store) MediaCreate(ctx context.Context, p *catalog.MediaCreateParams) (*catalog.Media, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	m, err := catalog.NewMedia(p, s.clock())
	if err != nil {
		return nil, err
	}
	if len(p.Events) > 0 {
		return nil, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
	}
	if err := s.tenantExists(ctx, "tenant_id", m.TenantID); err != nil {
		return nil, err
	}
	// The id must be new whatever its created time: the table's key is
	// (media_id, created_at), so look first, then write conditionally.
	if _, err := s.mediaGet(ctx, m.ID, ""); err == nil {
		return nil, errcode.New(errcode.AlreadyExists, "catalog: media %q already exists", m.ID)
	} else if errcode.Of(err) != errcode.NotFound {
		return nil, err
	}
	it, err := mediaItem(m)
	if err != nil {
		return nil, err
	}
	okAdd, err := s.addBytes(ctx, m.TenantID, m.Size, p.MaxTenantBytes)
	if err != nil {
		return nil, err
	}
	if !okAdd {
		stored, err := s.storedBytes(ctx, m.TenantID)
		if err != nil {
			return nil, err
		}
		return nil, errcode.New(errcode.TooLarge, "catalog: tenant %q stores %d bytes of media; %d more would pass its limit of %d bytes (limits.stored_bytes)",
			m.TenantID, stored, m.Size, p.MaxTenantBytes)
	}
	_, err = s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.media, Item: it, ConditionExpression: aws.String("attribute_not_exists(media_id)")})
	if err != nil {
		if _, undo := s.addBytes(ctx, m.TenantID, -m.Size, 0); undo != nil {
			slog.Warn("catalog: dynamodb: stored-bytes counter left high after a refused create", "tenant", m.TenantID, "bytes", m.Size, "err", undo)
		}
		if conditionFailed(err) {
			return nil, errcode.New(errcode.AlreadyExists, "catalog: media %q already exists", m.ID)
		}
		return nil, dynErr(err, "insert media")
	}
	return m, nil
}

// mediaGet reads a media item by id (the partition key; the table's sort
// key is its created time). A tenant that does not match is NotFound.
func (s *Store) mediaGet(ctx context.Context, id, tenant string) (*catalog.Media, error) {
	out, err := s.c.Query(ctx, &ddb.QueryInput{TableName: &s.media, KeyConditionExpression: aws.String("media_id = :id"),
		ExpressionAttributeValues: item{":id": avS(id)}, ConsistentRead: aws.Bool(true), Limit: aws.Int32(1)})
	if err != nil {
		return nil, dynErr(err, "read media")
	}
	if len(out.Items) == 0 {
		return nil, catalog.NotFound("media", id)
	}
	m, err := mediaFrom(out.Items[0])
	if err != nil {
		return nil, dynErr(err, "read media")
	}
	if tenant != "" && m.TenantID != tenant {
		return nil, catalog.NotFound("media", id)
	}
	return m, nil
}

func (s *Store) MediaGet(ctx context.Context, p *catalog.MediaGetParams) (*catalog.Media, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("id", p.ID); err != nil {
		return nil, err
	}
	if p.TenantID != "" {
		if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
			return nil, err
		}
	}
	return s.mediaGet(ctx, p.ID, p.TenantID)
}

// mediaPut writes m over the stored row at version prev.
func (s *Store) mediaPut(ctx context.Context, m *catalog.Media, prev int64) error {
	it, err := mediaItem(m)
	if err != nil {
		return err
	}
	_, err = s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.media, Item: it,
		ConditionExpression: aws.String("version = :prev"), ExpressionAttributeValues: item{":prev": avN(prev)}})
	if conditionFailed(err) {
		return catalog.VersionConflict(m.ID, prev, prev+1)
	}
	return dynErr(err, "update media")
}

func (s *Store) MediaUpdate(ctx context.Context, p *catalog.MediaUpdateParams) (*catalog.Media, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if _, err := catalog.ValidateMediaUpdate(p); err != nil {
		return nil, err
	}
	if len(p.Events) > 0 {
		return nil, catalog.NotImplemented("dynamodb", catalog.FeatureOutbox)
	}
	// p.Transcript feeds the search index only; the transcript itself is
	// in the bucket (TranscriptKey), and this driver has no index.
	m, err := s.mediaGet(ctx, p.ID, p.TenantID)
	if err != nil {
		return nil, err
	}
	if p.Version != 0 && p.Version != m.Version {
		return nil, catalog.VersionConflict(m.ID, p.Version, m.Version)
	}
	if p.Reprocess && m.Status != types.StatusSucceeded && m.Status != types.StatusFailed {
		return nil, errcode.New(errcode.FailedPrecond, "catalog: media %q is %s: only SUCCEEDED or FAILED media can be reprocessed", m.ID, m.Status)
	}
	if p.Status != "" {
		if err := catalog.CheckTransition(m.ID, m.Status, p.Status, p.Reprocess); err != nil {
			return nil, err
		}
		if (m.Status == types.StatusFailed || m.Status == types.StatusSkipped) && p.Status != m.Status {
			m.Error, m.Cause = "", ""
		}
		m.Status = p.Status
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&m.BucketKey, p.BucketKey)
	set(&m.Filename, p.Filename)
	set(&m.ContentType, p.ContentType)
	set(&m.SHA256, p.SHA256)
	set(&m.ExecutionID, p.ExecutionID)
	set(&m.TranscriptKey, p.TranscriptKey)
	set(&m.CaptionsKey, p.CaptionsKey)
	set(&m.Error, p.Error)
	set(&m.Cause, p.Cause)
	if p.Kind != "" {
		m.Kind = p.Kind
	}
	oldSize := m.Size
	if p.Size != 0 {
		m.Size = p.Size
	}
	if p.Duration != 0 {
		m.Duration = p.Duration
	}
	if p.Insights != nil {
		m.Insights = p.Insights
		if p.Summary == "" {
			m.Summary = p.Insights.Summary
		}
	}
	set(&m.Summary, p.Summary)
	prev := m.Version
	m.Version++
	m.UpdatedAt = s.clock()
	if err := s.mediaPut(ctx, m, prev); err != nil {
		return nil, err
	}
	if m.Size != oldSize {
		if _, err := s.addBytes(ctx, m.TenantID, m.Size-oldSize, 0); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Store) MediaDelete(ctx context.Context, p *catalog.MediaDeleteParams) (*catalog.MediaDeleteResult, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("id", p.ID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	m, err := s.mediaGet(ctx, p.ID, p.TenantID)
	if err != nil {
		return nil, err
	}
	res := &catalog.MediaDeleteResult{}
	if p.Failures {
		var ids []int64
		err := s.queryAll(ctx, &ddb.QueryInput{TableName: &s.failures, IndexName: aws.String(IndexFailuresTenant),
			KeyConditionExpression: aws.String("tenant_id = :t"), FilterExpression: aws.String("media_id = :m"),
			ExpressionAttributeValues: item{":t": avS(p.TenantID), ":m": avS(p.ID)}}, func(it item) (bool, error) {
			ids = append(ids, getN(it, "failure_id"))
			return true, nil
		})
		if err != nil {
			return nil, dynErr(err, "find failures")
		}
		for _, id := range ids {
			if _, err := s.c.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: &s.failures, Key: item{"failure_id": avN(id)}}); err != nil {
				return nil, dynErr(err, "delete failures")
			}
			res.Failures++
		}
	}
	_, err = s.c.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: &s.media,
		Key: item{"media_id": avS(m.ID), "created_at": avS(tstr(m.CreatedAt))}, ConditionExpression: aws.String("attribute_exists(media_id)")})
	if conditionFailed(err) {
		return nil, catalog.NotFound("media", p.ID)
	}
	if err != nil {
		return nil, dynErr(err, "delete media")
	}
	if _, err := s.addBytes(ctx, m.TenantID, -m.Size, 0); err != nil {
		return nil, err
	}
	return res, nil
}

func limitOf(field string, n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, catalog.Invalidf("%s: negative (%d)", field, n)
	case n > max:
		return 0, catalog.Invalidf("%s: %d is more than %d", field, n, max)
	}
	return n, nil
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// sortRange adds a key condition on sort key sk for [since, until) to a
// query whose partition condition is cond.
func sortRange(cond string, vals item, sk string, since, until time.Time) string {
	// Sort keys are "<time>#<id>"; "~" sorts after every id character, so
	// "<until-1µs>#~" is the last key before until.
	switch {
	case !since.IsZero() && !until.IsZero():
		vals[":lo"], vals[":hi"] = avS(tstr(since)), avS(tstr(until.Add(-time.Microsecond))+"#~")
		return cond + " AND " + sk + " BETWEEN :lo AND :hi"
	case !since.IsZero():
		vals[":lo"] = avS(tstr(since))
		return cond + " AND " + sk + " >= :lo"
	case !until.IsZero():
		vals[":hi"] = avS(tstr(until.Add(-time.Microsecond)) + "#~")
		return cond + " AND " + sk + " <= :hi"
	}
	return cond
}

// mediaListQuery builds the MediaList query: one index, one key condition,
// newest first, no filter, starting after the cursor.
func (s *Store) mediaListQuery(p *catalog.MediaListParams) (*ddb.QueryInput, int, uint32, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, 0, 0, err
	}
	if err := catalog.ValidateStatus("status", p.Status); err != nil {
		return nil, 0, 0, err
	}
	if err := catalog.ValidateKind("kind", p.Kind); err != nil {
		return nil, 0, 0, err
	}
	if !p.Since.IsZero() && !p.Until.IsZero() && !p.Until.After(p.Since) {
		return nil, 0, 0, catalog.Invalidf("until: %s is not after since %s", p.Until.Format(time.RFC3339), p.Since.Format(time.RFC3339))
	}
	limit, err := limitOf("limit", p.Limit, 50, 1000)
	if err != nil {
		return nil, 0, 0, err
	}
	filter := catalog.FilterHash("media", p.TenantID, string(p.Status), string(p.Kind), timeKey(p.Since), timeKey(p.Until))
	cur, err := catalog.CursorFor(p.Cursor, filter)
	if err != nil {
		return nil, 0, 0, err
	}
	var index, pkName, pk string
	switch {
	case p.Status != "" && p.Kind != "":
		index, pkName, pk = IndexTenantStatusKind, "tsk", p.TenantID+"#"+string(p.Status)+"#"+string(p.Kind)
	case p.Status != "":
		index, pkName, pk = IndexTenantStatus, "ts", p.TenantID+"#"+string(p.Status)
	case p.Kind != "":
		index, pkName, pk = IndexTenantKind, "tk", p.TenantID+"#"+string(p.Kind)
	default:
		index, pkName, pk = IndexTenant, "tenant_id", p.TenantID
	}
	vals := item{":pk": avS(pk)}
	in := &ddb.QueryInput{TableName: &s.media, IndexName: aws.String(index), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression:    aws.String(sortRange(pkName+" = :pk", vals, "ck", micro(p.Since), micro(p.Until))),
		ExpressionAttributeValues: vals, Limit: aws.Int32(int32(limit))}
	if cur != nil {
		in.ExclusiveStartKey = item{"media_id": avS(cur.Key), "created_at": avS(tstr(cur.Time)), pkName: avS(pk), "ck": avS(ck(cur.Time, cur.Key))}
	}
	return in, limit, filter, nil
}

func (s *Store) MediaList(ctx context.Context, p *catalog.MediaListParams) (*catalog.MediaPage, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	in, limit, filter, err := s.mediaListQuery(p)
	if err != nil {
		return nil, err
	}
	if err := s.tenantExists(ctx, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	page := &catalog.MediaPage{Media: []*catalog.Media{}}
	// A query stops at Limit items or 1 MB; ask again until the page is
	// full or the index is exhausted, then look one further to know
	// whether a next page exists.
	more := false
	err = s.queryAll(ctx, in, func(it item) (bool, error) {
		if len(page.Media) == limit {
			more = true
			return false, nil
		}
		m, err := mediaFrom(it)
		if err != nil {
			return false, err
		}
		page.Media = append(page.Media, m)
		return true, nil
	})
	if err != nil {
		return nil, dynErr(err, "list media")
	}
	if more {
		last := page.Media[limit-1]
		page.Next = catalog.EncodeCursor(catalog.Cursor{Filter: filter, Time: last.CreatedAt, Key: last.ID})
	}
	return page, nil
}

// MediaListPlan describes the DynamoDB query MediaList runs: the index and
// key condition (DynamoDB has no EXPLAIN; the request is the plan).
func (s *Store) MediaListPlan(ctx context.Context, p *catalog.MediaListParams) (string, error) {
	if err := s.live(); err != nil {
		return "", err
	}
	in, _, _, err := s.mediaListQuery(p)
	if err != nil {
		return "", err
	}
	var vals []string
	for k, v := range in.ExpressionAttributeValues {
		vals = append(vals, k+"="+getS(item{"v": v}, "v"))
	}
	return fmt.Sprintf("QUERY %s INDEX %s KEY %s (%s) ORDER ck DESC LIMIT %d", *in.TableName, *in.IndexName,
		*in.KeyConditionExpression, strings.Join(sortedStrings(vals), ", "), *in.Limit), nil
}

func sortedStrings(v []string) []string {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	return v
}

// ---- failures ----

func fk(failed time.Time, id int64) string { return fmt.Sprintf("%s#%020d", tstr(failed), id) }

func failureItem(f *catalog.Failure) item {
	it := item{"failure_id": avN(f.ID), "tenant_id": avS(f.TenantID), "failed_at": avS(tstr(f.FailedAt)),
		"fk": avS(fk(f.FailedAt, f.ID)), "error_name": avS(f.ErrorName), "retryable": &dt.AttributeValueMemberBOOL{Value: f.Retryable}}
	putS(it, "media_id", f.MediaID)
	putS(it, "bucket_key", f.BucketKey)
	putS(it, "execution_id", f.ExecutionID)
	putS(it, "state_name", f.StateName)
	putS(it, "cause", f.Cause)
	if f.RedrivenAt != nil {
		it["redriven_at"] = avS(tstr(*f.RedrivenAt))
	}
	putS(it, "redrive_execution_id", f.RedriveExecutionID)
	return it
}

func failureFrom(it item) (*catalog.Failure, error) {
	f := &catalog.Failure{ID: getN(it, "failure_id"), MediaID: getS(it, "media_id"), TenantID: getS(it, "tenant_id"),
		BucketKey: getS(it, "bucket_key"), ExecutionID: getS(it, "execution_id"), StateName: getS(it, "state_name"),
		ErrorName: getS(it, "error_name"), Cause: getS(it, "cause"), RedriveExecutionID: getS(it, "redrive_execution_id"),
		Retryable: getBool(it, "retryable")}
	var err error
	if f.FailedAt, err = getT(it, "failed_at"); err != nil {
		return nil, err
	}
	if r, err := getT(it, "redriven_at"); err != nil {
		return nil, err
	} else if !r.IsZero() {
		f.RedrivenAt = &r
	}
	return f, nil
}

// guardKey names the once-per-execution guard of a media item's failure.
func guardKey(tenant, media, exec string) string {
	h := sha256.Sum256([]byte(tenant + "\x00" + media + "\x00" + exec))
	return hex.EncodeToString(h[:])
}

func (s *Store) FailureRecord(ctx context.Context, p *catalog.FailureRecordParams) (*catalog.Failure, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	f := &catalog.Failure{MediaID: p.MediaID, TenantID: p.TenantID, BucketKey: p.BucketKey, ExecutionID: p.ExecutionID,
		StateName: p.StateName, ErrorName: p.ErrorName, Cause: p.Cause, FailedAt: micro(p.FailedAt)}
	f.Retryable, _ = catalog.Retryable(f.ErrorName)
	if f.FailedAt.IsZero() {
		f.FailedAt = s.clock()
	}
	if err := catalog.ValidateTenantID("tenant_id", f.TenantID); err != nil {
		return nil, err
	}
	if f.MediaID != "" {
		if err := catalog.ValidateID("media_id", f.MediaID); err != nil {
			return nil, err
		}
	} else if p.UpdateMedia {
		return nil, catalog.Invalidf("media_id: required with update_media")
	}
	if f.ErrorName == "" {
		return nil, catalog.Invalidf("error_name: required")
	}
	for _, c := range []struct {
		name, v string
		max     int
	}{{"bucket_key", f.BucketKey, 1024}, {"execution_id", f.ExecutionID, 2048}, {"state_name", f.StateName, 256},
		{"error_name", f.ErrorName, 256}, {"cause", f.Cause, 32768}} {
		if err := catalog.ValidateText(c.name, c.v, c.max); err != nil {
			return nil, err
		}
	}
	if err := s.tenantExists(ctx, "tenant_id", f.TenantID); err != nil {
		return nil, err
	}
	if p.UpdateMedia {
		if err := s.markFailed(ctx, f); err != nil {
			return nil, err
		}
	}
	if f.MediaID == "" || f.ExecutionID == "" {
		return f, s.failureInsert(ctx, f)
	}
	// One row per (media, execution): the guard item names the row.
	gk := catKey(pkGuard, guardKey(f.TenantID, f.MediaID, f.ExecutionID))
	for range 3 {
		out, err := s.c.GetItem(ctx, &ddb.GetItemInput{TableName: &s.catTable, Key: gk, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, dynErr(err, "find failure")
		}
		if out.Item != nil {
			prev, err := s.failureGet(ctx, getN(out.Item, "failure_id"), "")
			if errcode.Of(err) == errcode.NotFound {
				// The guard was written but not its row (a crash between
				// the two): write the row under the guard's id.
				f.ID = getN(out.Item, "failure_id")
				return f, s.failurePut(ctx, f)
			}
			return prev, err
		}
		id, err := s.nextID(ctx, "failure")
		if err != nil {
			return nil, err
		}
		it := maps(gk, item{"failure_id": avN(id)})
		_, err = s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.catTable, Item: it, ConditionExpression: aws.String("attribute_not_exists(pk)")})
		if conditionFailed(err) {
			continue // another writer's guard: read it
		}
		if err != nil {
			return nil, dynErr(err, "insert failure")
		}
		f.ID = id
		return f, s.failurePut(ctx, f)
	}
	return nil, errcode.New(errcode.Unavailable, "catalog: insert failure: the execution's guard kept changing")
}

func maps(a, b item) item {
	out := item{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// markFailed moves the failure's media row to FAILED with its error and
// cause, retrying on a concurrent update.
func (s *Store) markFailed(ctx context.Context, f *catalog.Failure) error {
	for range 5 {
		m, err := s.mediaGet(ctx, f.MediaID, f.TenantID)
		if err != nil {
			return err
		}
		if err := catalog.CheckTransition(m.ID, m.Status, types.StatusFailed, false); err != nil {
			return err
		}
		prev := m.Version
		m.Status, m.Error, m.Cause = types.StatusFailed, f.ErrorName, catalog.TruncateText(f.Cause, 32768)
		m.Version++
		m.UpdatedAt = s.clock()
		err = s.mediaPut(ctx, m, prev)
		if !errors.Is(err, catalog.ErrVersionConflict) {
			return err
		}
	}
	return errcode.New(errcode.Unavailable, "catalog: mark media %q failed: it kept changing", f.MediaID)
}

func (s *Store) failureInsert(ctx context.Context, f *catalog.Failure) error {
	id, err := s.nextID(ctx, "failure")
	if err != nil {
		return err
	}
	f.ID = id
	return s.failurePut(ctx, f)
}

func (s *Store) failurePut(ctx context.Context, f *catalog.Failure) error {
	_, err := s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.failures, Item: failureItem(f)})
	return dynErr(err, "insert failure")
}

func (s *Store) failureGet(ctx context.Context, id int64, tenant string) (*catalog.Failure, error) {
	out, err := s.c.GetItem(ctx, &ddb.GetItemInput{TableName: &s.failures, Key: item{"failure_id": avN(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dynErr(err, "read failure")
	}
	if out.Item == nil {
		return nil, catalog.NotFound("failure", strconv.FormatInt(id, 10))
	}
	f, err := failureFrom(out.Item)
	if err != nil {
		return nil, dynErr(err, "read failure")
	}
	if tenant != "" && f.TenantID != tenant {
		return nil, catalog.NotFound("failure", strconv.FormatInt(id, 10))
	}
	return f, nil
}

func (s *Store) FailureGet(ctx context.Context, p *catalog.FailureGetParams) (*catalog.Failure, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if p.ID <= 0 {
		return nil, catalog.Invalidf("id: must be positive")
	}
	return s.failureGet(ctx, p.ID, p.TenantID)
}

func (s *Store) FailureList(ctx context.Context, p *catalog.FailureListParams) (*catalog.FailurePage, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if p.MediaID != "" {
		if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
			return nil, err
		}
	}
	limit, err := limitOf("limit", p.Limit, 50, 1000)
	if err != nil {
		return nil, err
	}
	filter := catalog.FilterHash("failures", p.TenantID, p.MediaID, timeKey(p.Since), timeKey(p.Until), strconv.FormatBool(p.NotRedriven))
	cur, err := catalog.CursorFor(p.Cursor, filter)
	if err != nil {
		return nil, err
	}
	var curID int64
	if cur != nil {
		if curID, err = strconv.ParseInt(cur.Key, 10, 64); err != nil || curID <= 0 {
			return nil, catalog.Invalidf("cursor: not a cursor returned by a failure listing")
		}
	}
	if err := s.tenantExists(ctx, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	vals := item{":t": avS(p.TenantID)}
	in := &ddb.QueryInput{TableName: &s.failures, IndexName: aws.String(IndexFailuresTenant), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression:    aws.String(sortRange("tenant_id = :t", vals, "fk", micro(p.Since), micro(p.Until))),
		ExpressionAttributeValues: vals}
	var filters []string
	if p.MediaID != "" {
		filters = append(filters, "media_id = :m")
		vals[":m"] = avS(p.MediaID)
	}
	if p.NotRedriven {
		filters = append(filters, "attribute_not_exists(redriven_at)")
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	} else {
		in.Limit = aws.Int32(int32(limit + 1))
	}
	if cur != nil {
		in.ExclusiveStartKey = item{"failure_id": avN(curID), "tenant_id": avS(p.TenantID), "fk": avS(fk(cur.Time, curID))}
	}
	page := &catalog.FailurePage{Failures: []*catalog.Failure{}}
	more := false
	err = s.queryAll(ctx, in, func(it item) (bool, error) {
		if len(page.Failures) == limit {
			more = true
			return false, nil
		}
		f, err := failureFrom(it)
		if err != nil {
			return false, err
		}
		page.Failures = append(page.Failures, f)
		return true, nil
	})
	if err != nil {
		return nil, dynErr(err, "list failures")
	}
	if more {
		last := page.Failures[limit-1]
		page.Next = catalog.EncodeCursor(catalog.Cursor{Filter: filter, Time: last.FailedAt, Key: strconv.FormatInt(last.ID, 10)})
	}
	return page, nil
}

func (s *Store) FailureMarkRedriven(ctx context.Context, p *catalog.FailureMarkRedrivenParams) (*catalog.Failure, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if p.ID <= 0 {
		return nil, catalog.Invalidf("id: must be positive")
	}
	if err := catalog.ValidateText("execution_id", p.ExecutionID, 2048); err != nil {
		return nil, err
	}
	at := micro(p.At)
	if at.IsZero() {
		at = s.clock()
	}
	f, err := s.failureGet(ctx, p.ID, p.TenantID)
	if err != nil {
		return nil, err
	}
	if f.RedrivenAt != nil {
		return nil, errcode.New(errcode.FailedPrecond, "catalog: failure %d was already redriven at %s", f.ID, f.RedrivenAt.Format(time.RFC3339))
	}
	vals := item{":at": avS(tstr(at))}
	expr := "SET redriven_at = :at"
	if p.ExecutionID != "" {
		expr += ", redrive_execution_id = :e"
		vals[":e"] = avS(p.ExecutionID)
	}
	_, err = s.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &s.failures, Key: item{"failure_id": avN(f.ID)},
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(failure_id) AND attribute_not_exists(redriven_at)"),
		ExpressionAttributeValues: vals})
	if conditionFailed(err) {
		return nil, errcode.New(errcode.FailedPrecond, "catalog: failure %d was already redriven", f.ID)
	}
	if err != nil {
		return nil, dynErr(err, "mark failure redriven")
	}
	f.RedrivenAt, f.RedriveExecutionID = &at, p.ExecutionID
	return f, nil
}

// ---- usage ----

func (s *Store) UsageRecord(ctx context.Context, p *catalog.UsageRecordParams) error {
	if err := s.live(); err != nil {
		return err
	}
	if len(p.Entries) == 0 {
		return catalog.Invalidf("entries: empty")
	}
	now := s.clock()
	var tenants []string
	seen := map[string]bool{}
	for i, e := range p.Entries {
		field := fmt.Sprintf("entries[%d]", i)
		if err := catalog.ValidateTenantID(field+".tenant_id", e.TenantID); err != nil {
			return err
		}
		if !seen[e.TenantID] {
			seen[e.TenantID] = true
			tenants = append(tenants, e.TenantID)
		}
		if e.MediaID != "" {
			if err := catalog.ValidateID(field+".media_id", e.MediaID); err != nil {
				return err
			}
		}
		if e.Analyser == "" {
			return catalog.Invalidf("%s.analyser: required", field)
		}
		if err := catalog.ValidateText(field+".analyser", e.Analyser, 256); err != nil {
			return err
		}
		if e.CPUSeconds < 0 || e.AudioSeconds < 0 || e.Images < 0 || e.Tokens < 0 || e.CostUSD < 0 {
			return catalog.Invalidf("%s: quantities must not be negative", field)
		}
	}
	// Every tenant is checked before anything is written, so a batch
	// naming an unknown tenant writes nothing.
	for _, t := range tenants {
		if err := s.tenantExists(ctx, "entries.tenant_id", t); err != nil {
			return err
		}
	}
	for _, e := range p.Entries {
		at := micro(e.RecordedAt)
		if at.IsZero() {
			at = now
		}
		id, err := s.nextID(ctx, "usage")
		if err != nil {
			return err
		}
		it := catKey(pkUsage+e.TenantID, fmt.Sprintf("%s#%020d", tstr(at), id))
		putS(it, "media_id", e.MediaID)
		it["analyser"] = avS(e.Analyser)
		it["cpu_seconds"], it["audio_seconds"] = avF(e.CPUSeconds), avF(e.AudioSeconds)
		it["images"], it["tokens"], it["cost_usd"] = avN(e.Images), avN(e.Tokens), avF(e.CostUSD)
		if _, err := s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.catTable, Item: it}); err != nil {
			return dynErr(err, "insert usage")
		}
	}
	return nil
}

func (s *Store) UsageTotals(ctx context.Context, p *catalog.UsageTotalsParams) (*catalog.UsageReport, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if p.MediaID != "" {
		if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
			return nil, err
		}
	}
	if !p.Since.IsZero() && !p.Until.IsZero() && !p.Until.After(p.Since) {
		return nil, catalog.Invalidf("until: not after since")
	}
	if err := s.tenantExists(ctx, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	vals := item{":pk": avS(pkUsage + p.TenantID)}
	in := &ddb.QueryInput{TableName: &s.catTable, ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String(sortRange("pk = :pk", vals, "sk", micro(p.Since), micro(p.Until))), ExpressionAttributeValues: vals}
	if p.MediaID != "" {
		in.FilterExpression = aws.String("media_id = :m")
		vals[":m"] = avS(p.MediaID)
	}
	sums := map[string]*catalog.UsageSum{}
	err := s.queryAll(ctx, in, func(it item) (bool, error) {
		a := getS(it, "analyser")
		u := sums[a]
		if u == nil {
			u = &catalog.UsageSum{Analyser: a}
			sums[a] = u
		}
		u.Entries++
		u.CPUSeconds += getF(it, "cpu_seconds")
		u.AudioSeconds += getF(it, "audio_seconds")
		u.Images += getN(it, "images")
		u.Tokens += getN(it, "tokens")
		u.CostUSD += getF(it, "cost_usd")
		return true, nil
	})
	if err != nil {
		return nil, dynErr(err, "sum usage")
	}
	names := make([]string, 0, len(sums))
	for a := range sums {
		names = append(names, a)
	}
	r := &catalog.UsageReport{ByAnalyser: []catalog.UsageSum{}}
	for _, a := range sortedStrings(names) {
		u := *sums[a]
		r.ByAnalyser = append(r.ByAnalyser, u)
		r.Total.Entries += u.Entries
		r.Total.CPUSeconds += u.CPUSeconds
		r.Total.AudioSeconds += u.AudioSeconds
		r.Total.Images += u.Images
		r.Total.Tokens += u.Tokens
		r.Total.CostUSD += u.CostUSD
	}
	return r, nil
}

// The review queue and media versions are not built on DynamoDB yet.

func (s *Store) ReviewOpen(context.Context, *catalog.ReviewOpenParams) (*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewGet(context.Context, *catalog.ReviewGetParams) (*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewList(context.Context, *catalog.ReviewListParams) (*catalog.ReviewPage, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewCounts(context.Context, *catalog.ReviewCountsParams) (*catalog.ReviewCounts, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewClaim(context.Context, *catalog.ReviewClaimParams) (*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewRelease(context.Context, *catalog.ReviewReleaseParams) (*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewDecide(context.Context, *catalog.ReviewDecideParams) (*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewResumed(context.Context, *catalog.ReviewResumedParams) (*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) ReviewUnresumed(context.Context, *catalog.ReviewUnresumedParams) ([]*catalog.Review, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) MediaVersionAdd(context.Context, *catalog.MediaVersionAddParams) (*catalog.MediaVersion, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) MediaVersionList(context.Context, *catalog.MediaVersionListParams) ([]*catalog.MediaVersion, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) VocabularySuggest(context.Context, *catalog.VocabularySuggestParams) error {
	return catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) VocabularyList(context.Context, *catalog.VocabularyListParams) ([]*catalog.VocabularyTerm, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}
func (s *Store) VocabularyAccept(context.Context, *catalog.VocabularyAcceptParams) ([]*catalog.VocabularyTerm, error) {
	return nil, catalog.NotImplemented("dynamodb", catalog.FeatureReviews)
}

// ---- jobs ----

// Jobs are items of the catalog table under the partition
// job#<service>, sorted by job id.
func jobKey(service, id string) item { return catKey("job#"+service, id) }

func (s *Store) JobPut(ctx context.Context, p *catalog.JobPutParams) error {
	if err := s.live(); err != nil {
		return err
	}
	j := p.Job
	if err := catalog.ValidateJob(&j); err != nil {
		return err
	}
	if len(j.Input) == 0 {
		j.Input = []byte("null")
	}
	it := jobKey(j.Service, j.ID)
	putS(it, "task", j.Task)
	putS(it, "tenant_id", j.TenantID)
	putS(it, "media_id", j.MediaID)
	putS(it, "task_token", j.TaskToken)
	putS(it, "input", string(j.Input))
	it["created_at"] = avS(tstr(s.clock()))
	_, err := s.c.PutItem(ctx, &ddb.PutItemInput{TableName: &s.catTable, Item: it})
	return dynErr(err, "record job")
}

func (s *Store) JobGet(ctx context.Context, p *catalog.JobGetParams) (*catalog.Job, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if p.Service == "" || p.ID == "" {
		return nil, catalog.JobNotFound(p.Service, p.ID)
	}
	out, err := s.c.GetItem(ctx, &ddb.GetItemInput{TableName: &s.catTable, Key: jobKey(p.Service, p.ID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dynErr(err, "read job")
	}
	if out.Item == nil {
		return nil, catalog.JobNotFound(p.Service, p.ID)
	}
	it := item(out.Item)
	j := &catalog.Job{Service: p.Service, ID: p.ID, Task: getS(it, "task"), TenantID: getS(it, "tenant_id"), MediaID: getS(it, "media_id"),
		TaskToken: getS(it, "task_token"), Input: []byte(getS(it, "input"))}
	if j.CreatedAt, err = getT(it, "created_at"); err != nil {
		return nil, dynErr(err, "read job")
	}
	return j, nil
}

func (s *Store) JobDelete(ctx context.Context, p *catalog.JobDeleteParams) error {
	if err := s.live(); err != nil {
		return err
	}
	if p.Service == "" || p.ID == "" {
		return nil
	}
	in := &ddb.DeleteItemInput{TableName: &s.catTable, Key: jobKey(p.Service, p.ID)}
	if p.TaskToken != "" {
		in.ConditionExpression = aws.String("task_token = :t")
		in.ExpressionAttributeValues = item{":t": avS(p.TaskToken)}
	}
	_, err := s.c.DeleteItem(ctx, in)
	if conditionFailed(err) {
		return nil // another attempt's job, or none
	}
	return dynErr(err, "forget job")
}
