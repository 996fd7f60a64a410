package apiserver

import (
	"net/http"

	"time"

	"github.com/landfall/landfall/apiserver/auth"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// adminRoutes are the installation's administration: tenants and keys.
func (s *Server) adminRoutes(api func(method, pattern string, access Access, h handler)) {
	api("GET", "/v1/admin/tenants", AccessInstallation, s.tenantList)
	api("POST", "/v1/admin/tenants", AccessInstallation, s.tenantCreate)
	api("POST", "/v1/admin/tenants/{id}/disable", AccessInstallation, s.tenantDisable)
	api("POST", "/v1/admin/tenants/{id}/enable", AccessInstallation, s.tenantEnable)
	api("DELETE", "/v1/admin/tenants/{id}", AccessInstallation, s.tenantDelete)
	api("GET", "/v1/admin/keys", AccessInstallation, s.keyList)
	api("POST", "/v1/admin/keys", AccessInstallation, s.keyCreate)
	api("POST", "/v1/admin/keys/{id}/rotate", AccessInstallation, s.keyRotate)
	api("POST", "/v1/admin/keys/{id}/revoke", AccessInstallation, s.keyRevoke)
	api("POST", "/v1/admin/keys/{id}/expire", AccessInstallation, s.keyExpire)
}

func (s *Server) tenantList(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.cfg.Catalog.TenantList(r.Context(), &catalog.TenantListParams{})
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []*catalog.Tenant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": ts})
	return nil
}

func (s *Server) tenantCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := decodeJSON(r, 64<<10, &req); err != nil {
		return err
	}
	t, err := s.cfg.Catalog.TenantCreate(r.Context(), &catalog.TenantCreateParams{ID: req.ID, Name: req.Name})
	if err != nil {
		return err
	}
	s.log.Info("tenant created", "tenant", t.ID, "by", principal(r))
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (s *Server) tenantDisable(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Catalog.TenantDisable(r.Context(), &catalog.TenantDisableParams{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	s.log.Info("tenant disabled", "tenant", t.ID, "by", principal(r))
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) tenantEnable(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Catalog.TenantEnable(r.Context(), &catalog.TenantEnableParams{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	s.log.Info("tenant enabled", "tenant", t.ID, "by", principal(r))
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) tenantDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Catalog.TenantDelete(r.Context(), &catalog.TenantDeleteParams{ID: r.PathValue("id")}); err != nil {
		return err
	}
	s.log.Info("tenant deleted", "tenant", r.PathValue("id"), "by", principal(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func principal(r *http.Request) string {
	p, _ := identity.FromContext(r.Context())
	return p.String()
}

// keyView is a key as the admin API shows it: never a secret, with its
// access key id.
type keyView struct {
	*catalog.APIKey
	AccessKeyID string `json:"access_key_id"`
}

// newKeyView is a key just created or rotated: its secrets, shown once.
type newKeyView struct {
	Key             string  `json:"key"`
	AccessKeyID     string  `json:"access_key_id"`
	SecretAccessKey string  `json:"secret_access_key,omitempty"`
	APIKey          keyView `json:"api_key"`
}

func (s *Server) newKey(res *catalog.APIKeyCreateResult) newKeyView {
	v := newKeyView{Key: res.Key, AccessKeyID: catalog.AccessKeyID(res.APIKey.ID), APIKey: keyView{res.APIKey, catalog.AccessKeyID(res.APIKey.ID)}}
	if len(s.cfg.Secret) > 0 {
		_, v.SecretAccessKey = s.auth.Credentials(res.APIKey)
	}
	return v
}

func (s *Server) keyList(w http.ResponseWriter, r *http.Request) error {
	p, _ := identity.FromContext(r.Context())
	tenant := ""
	if r.URL.Query().Get("tenant") != "" {
		tenant = p.Tenant
	}
	keys, err := s.cfg.Catalog.APIKeyList(r.Context(), &catalog.APIKeyListParams{TenantID: tenant})
	if err != nil {
		return err
	}
	out := make([]keyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyView{k, catalog.AccessKeyID(k.ID)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

func (s *Server) keyCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role      identity.Role `json:"role"`
		Tenant    string        `json:"tenant"`
		Name      string        `json:"name"`
		ExpiresIn string        `json:"expires_in"` // a Go duration such as 720h
		ExpiresAt *time.Time    `json:"expires_at"`
	}
	if err := decodeJSON(r, 64<<10, &req); err != nil {
		return err
	}
	p := &catalog.APIKeyCreateParams{Role: req.Role, TenantID: req.Tenant, Name: req.Name}
	switch {
	case req.ExpiresIn != "" && req.ExpiresAt != nil:
		return errcode.New(errcode.Invalid, "/expires_in, /expires_at: give one")
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return errcode.New(errcode.Invalid, "/expires_in: %q is not a positive duration such as 720h", req.ExpiresIn)
		}
		p.ExpiresAt = s.cfg.Now().Add(d)
	case req.ExpiresAt != nil:
		p.ExpiresAt = *req.ExpiresAt
	}
	res, err := s.cfg.Catalog.APIKeyCreate(r.Context(), p)
	if err != nil {
		return err
	}
	s.log.Info("API key created", "key_id", res.APIKey.ID, "role", res.APIKey.Role, "tenant", res.APIKey.TenantID, "by", principal(r))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, s.newKey(res))
	return nil
}

func (s *Server) keyRotate(w http.ResponseWriter, r *http.Request) error {
	res, err := s.cfg.Catalog.APIKeyRotate(r.Context(), &catalog.APIKeyRotateParams{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	s.log.Info("API key rotated", "key_id", res.APIKey.ID, "generation", res.APIKey.Generation, "by", principal(r))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.newKey(res))
	return nil
}

func (s *Server) keyRevoke(w http.ResponseWriter, r *http.Request) error {
	k, err := s.cfg.Catalog.APIKeyRevoke(r.Context(), &catalog.APIKeyRevokeParams{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	s.log.Info("API key revoked", "key_id", k.ID, "by", principal(r))
	writeJSON(w, http.StatusOK, keyView{k, catalog.AccessKeyID(k.ID)})
	return nil
}

func (s *Server) keyExpire(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		At *time.Time `json:"at"`
	}
	if err := decodeJSON(r, 64<<10, &req); err != nil {
		return err
	}
	if req.At == nil {
		return errcode.New(errcode.Invalid, "/at: required (an RFC 3339 time)")
	}
	k, err := s.cfg.Catalog.APIKeyExpire(r.Context(), &catalog.APIKeyExpireParams{ID: r.PathValue("id"), At: *req.At})
	if err != nil {
		return err
	}
	s.log.Info("API key expiry set", "key_id", k.ID, "expires_at", k.ExpiresAt, "by", principal(r))
	writeJSON(w, http.StatusOK, keyView{k, catalog.AccessKeyID(k.ID)})
	return nil
}

// mediaLinks returns signed URLs for a media item's original and exports,
// for media elements that cannot send a key. ?ttl= sets their lifetime
// (default 15m, at most 24h).
func (s *Server) mediaLinks(w http.ResponseWriter, r *http.Request) error {
	ttl := auth.DefaultURLTTL
	if v := r.URL.Query().Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > auth.MaxURLTTL {
			return errcode.New(errcode.Invalid, "ttl: %q is not a duration from 1s to %s", v, auth.MaxURLTTL)
		}
		ttl = d
	}
	if len(s.cfg.Secret) == 0 {
		return errcode.New(errcode.Unavailable, "signed URLs need the installation secret, which this server was not given")
	}
	m, err := s.media(r)
	if err != nil {
		return err
	}
	p, _ := identity.FromContext(r.Context())
	out := map[string]string{}
	var expires time.Time
	sign := func(name, path string) { out[name], expires = s.auth.SignURL(p, m.TenantID, path, ttl) }
	sign("original", "/v1/media/"+m.ID+"/original")
	for name, path := range links(m) {
		if name != "self" {
			sign(name, path)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"expires_at": expires.UTC().Format(time.RFC3339), "links": out})
	return nil
}
