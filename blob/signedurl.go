package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Query parameters of a URL signed by URLSigner.
const (
	ParamMethod      = "lf-method"
	ParamExpires     = "lf-expires"
	ParamContentType = "lf-content-type"
	ParamSignature   = "lf-signature"
)

// URLSigner makes and checks HMAC-SHA256 signed URLs for drivers whose
// objects Landfall serves itself (file, mem). A signed URL is
//
//	BASE/escaped/key?lf-method=GET&lf-expires=UNIX[&lf-content-type=…]&lf-signature=…
//
// where BASE is the signer's base URL (absolute, or a path such as "/blob"
// for the API server to prefix with its own address) and the signature
// covers the method, the key, the expiry and the content type.
type URLSigner struct {
	base   *url.URL
	secret []byte
}

// NewURLSigner returns a signer for URLs under baseURL with secret (at
// least 16 bytes).
func NewURLSigner(baseURL string, secret []byte) (*URLSigner, error) {
	if len(secret) < 16 {
		return nil, errcode.New(errcode.Invalid, "blob: URL signing secret is %d bytes; need at least 16", len(secret))
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "blob: signed URL base %q", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errcode.New(errcode.Invalid, "blob: signed URL base %q must not have a query or fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return &URLSigner{base: u, secret: append([]byte(nil), secret...)}, nil
}

func (s *URLSigner) mac(method, key string, expires int64, contentType string) string {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "landfall-signed-url-v1\n%s\n%s\n%d\n%s", method, key, expires, contentType)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns a URL granting method on key until expires.
func (s *URLSigner) Sign(key, method string, expires time.Time, contentType string) string {
	u := *s.base
	u.Path = s.base.Path + "/" + key
	u.RawPath = s.base.EscapedPath() + "/" + escapeKey(key)
	exp := expires.Unix()
	q := url.Values{}
	q.Set(ParamMethod, method)
	q.Set(ParamExpires, strconv.FormatInt(exp, 10))
	if contentType != "" {
		q.Set(ParamContentType, contentType)
	}
	q.Set(ParamSignature, s.mac(method, key, exp, contentType))
	u.RawQuery = q.Encode()
	return u.String()
}

// escapeKey escapes each segment of key for a URL path.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// Verify checks a signed URL (absolute, or just its path and query as an
// HTTP server receives it) for a request with method at time now, and
// returns the key and the content type an upload must carry. Errors are
// errcode.Unauthenticated (missing or wrong signature, expired) or
// errcode.PermissionDenied (a different method than the one signed), and
// say which.
func (s *URLSigner) Verify(method, rawURL string, now time.Time) (key, contentType string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", errcode.Wrap(errcode.Invalid, err, "blob: signed URL")
	}
	basePath := s.base.Path + "/"
	if !strings.HasPrefix(u.Path, basePath) {
		return "", "", errcode.New(errcode.Unauthenticated, "blob: signed URL path %q is not under %q", u.Path, basePath)
	}
	key = strings.TrimPrefix(u.Path, basePath)
	q := u.Query()
	sig := q.Get(ParamSignature)
	if sig == "" {
		return "", "", errcode.New(errcode.Unauthenticated, "blob: signed URL for %q has no %s", key, ParamSignature)
	}
	exp, perr := strconv.ParseInt(q.Get(ParamExpires), 10, 64)
	if perr != nil {
		return "", "", errcode.New(errcode.Unauthenticated, "blob: signed URL for %q: bad %s %q", key, ParamExpires, q.Get(ParamExpires))
	}
	signedMethod := q.Get(ParamMethod)
	contentType = q.Get(ParamContentType)
	want := s.mac(signedMethod, key, exp, contentType)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", "", errcode.New(errcode.Unauthenticated, "blob: signed URL for %q: signature does not match", key)
	}
	if now.Unix() > exp {
		return "", "", errcode.New(errcode.Unauthenticated, "blob: signed URL for %q expired at %s", key, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	if !strings.EqualFold(method, signedMethod) {
		return "", "", errcode.New(errcode.PermissionDenied, "blob: signed URL for %q allows %s, not %s", key, signedMethod, method)
	}
	if err := ValidateKey(key); err != nil {
		return "", "", err
	}
	return key, contentType, nil
}

// URLParams parses the query of a bucket URL strictly: a malformed query,
// a parameter given twice, or one not in known is InvalidArgument naming
// it. Drivers use it in their URL openers.
func URLParams(u *url.URL, known ...string) (map[string]string, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "blob: bucket URL %q: malformed query", redact(u))
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		if !slices.Contains(known, k) {
			return nil, errcode.New(errcode.Invalid, "blob: bucket URL %q: unknown parameter %q (known: %s)", redact(u), k, strings.Join(known, ", "))
		}
		if len(v) > 1 {
			return nil, errcode.New(errcode.Invalid, "blob: bucket URL %q: parameter %q given %d times", redact(u), k, len(v))
		}
		out[k] = v[0]
	}
	return out, nil
}
