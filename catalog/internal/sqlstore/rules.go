package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// ---- rules ----

// bumpRulesVersion increments the installation-wide rules version. It is
// the first write of every rule change, so it also serialises concurrent
// changes on the version row's lock (PostgreSQL) or the write lock (SQLite).
func (s *Store) bumpRulesVersion(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE cat_rules_version SET version = version + 1 WHERE id = 1`); err != nil {
		return dbErr(err, "bump rules version")
	}
	return nil
}

const ruleCols = `name, event_bus, spec, state, source, version, updated_at`

func scanRule(sc interface{ Scan(...any) error }) (*catalog.Rule, error) {
	r := &catalog.Rule{}
	var spec string
	if err := sc.Scan(&r.Name, &r.EventBus, textScan{&spec}, &r.State, &r.Source, &r.Version, timeScan{&r.UpdatedAt}); err != nil {
		return nil, err
	}
	r.Spec = json.RawMessage(spec)
	return r, nil
}

func (s *Store) ruleGet(ctx context.Context, qr queryer, name string) (*catalog.Rule, error) {
	r, err := scanRule(qr.QueryRowContext(ctx, s.q(`SELECT `+ruleCols+` FROM cat_rules WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.NotFound("rule", name)
	}
	if err != nil {
		return nil, dbErr(err, "read rule")
	}
	return r, nil
}

func (s *Store) RulePut(ctx context.Context, p *catalog.RulePutParams) (*catalog.Rule, error) {
	if err := catalog.ValidateRule(p); err != nil {
		return nil, err
	}
	var out *catalog.Rule
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.bumpRulesVersion(ctx, tx); err != nil {
			return err
		}
		var version int64 = 1
		old, err := s.ruleGet(ctx, tx, p.Name)
		switch {
		case err == nil:
			version = old.Version + 1
			if p.Version != 0 && p.Version != old.Version {
				return catalog.RuleVersionConflict(p.Name, p.Version, old.Version)
			}
		case !errors.Is(err, errcode.NotFound):
			return err
		case p.Version != 0:
			return catalog.RuleVersionConflict(p.Name, p.Version, 0)
		}
		now := s.clock()
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_rules (`+ruleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET event_bus = excluded.event_bus, spec = excluded.spec, state = excluded.state,
			source = excluded.source, version = excluded.version, updated_at = excluded.updated_at`),
			p.Name, p.EventBus, string(p.Spec), p.State, p.Source, version, s.t(now)); err != nil {
			return dbErr(err, "put rule")
		}
		out = &catalog.Rule{Name: p.Name, EventBus: p.EventBus, Spec: append(json.RawMessage(nil), p.Spec...), State: p.State,
			Source: p.Source, Version: version, UpdatedAt: now}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) RuleGet(ctx context.Context, p *catalog.RuleGetParams) (*catalog.Rule, error) {
	if err := catalog.ValidateRuleName("name", p.Name); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	return s.ruleGet(ctx, s.db, p.Name)
}

func (s *Store) RuleList(ctx context.Context, p *catalog.RuleListParams) (*catalog.RuleSet, error) {
	// The version is read before the rows: the list is then at least as
	// new as the version, and a change between the two reads only makes
	// the next poll reload once more.
	v, err := s.RulesVersion(ctx, &catalog.RulesVersionParams{})
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+ruleCols+` FROM cat_rules ORDER BY name`)
	if err != nil {
		return nil, dbErr(err, "list rules")
	}
	defer rows.Close()
	out := &catalog.RuleSet{Version: v, Rules: []*catalog.Rule{}}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, dbErr(err, "list rules")
		}
		out.Rules = append(out.Rules, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err, "list rules")
	}
	return out, nil
}

func (s *Store) RuleDelete(ctx context.Context, p *catalog.RuleDeleteParams) error {
	if err := catalog.ValidateRuleName("name", p.Name); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.bumpRulesVersion(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_rules WHERE name = ?`), p.Name)
		if err != nil {
			return dbErr(err, "delete rule")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.NotFound("rule", p.Name) // rolls the version back
		}
		return nil
	})
}

func (s *Store) RulesVersion(ctx context.Context, p *catalog.RulesVersionParams) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM cat_rules_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, dbErr(err, "read rules version")
	}
	return v, nil
}
