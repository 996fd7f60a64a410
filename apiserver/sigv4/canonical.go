package sigv4

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// signature is what a request claims: who signed it, for which scope and
// time, over which headers, and the signature itself.
type signature struct {
	presigned     bool
	accessKeyID   string
	scope         Scope
	signedHeaders []string // lower-case, strictly ascending
	signature     []byte   // 32 bytes
	amzDate       string   // the request time as signed (YYYYMMDDTHHMMSSZ)
	time          time.Time
	// dateHeader is the header the request time came from ("x-amz-date"
	// or "date"); empty for a presigned request, whose time is in the
	// query.
	dateHeader string
	expires    time.Duration // presigned only
}

func (s *signature) signs(h string) bool {
	_, ok := slices.BinarySearch(s.signedHeaders, h)
	return ok
}

// parseRequest reads the signature a request carries, in either form.
func parseRequest(r *http.Request) (*signature, error) {
	auth := r.Header.Values("Authorization")
	presigned := presignedQuery(r.URL.RawQuery)
	switch {
	case len(auth) == 0 && !presigned:
		return nil, MissingCredential()
	case len(auth) > 0 && presigned:
		return nil, newError(CodeIncompleteSignature, "the request carries both an Authorization header and a presigned query (X-Amz-Algorithm, X-Amz-Credential or X-Amz-Signature); send one")
	case len(auth) > 1:
		return nil, newError(CodeIncompleteSignature, "Authorization is sent %d times", len(auth))
	case presigned:
		return parsePresigned(r)
	}
	a, err := parseAuthorization(auth[0])
	if err != nil {
		return nil, err
	}
	sig := &signature{accessKeyID: a.accessKeyID, scope: a.scope, signedHeaders: a.signedHeaders, signature: a.signature}
	if v := r.Header.Values("X-Amz-Date"); len(v) > 0 {
		if len(v) > 1 {
			return nil, newError(CodeIncompleteSignature, "X-Amz-Date is sent %d times", len(v))
		}
		t, err := parseAmzDate("X-Amz-Date", v[0])
		if err != nil {
			return nil, err
		}
		sig.time, sig.amzDate, sig.dateHeader = t, v[0], "x-amz-date"
		return sig, nil
	}
	if v := r.Header.Values("Date"); len(v) > 0 {
		if len(v) > 1 {
			return nil, newError(CodeIncompleteSignature, "Date is sent %d times", len(v))
		}
		t, err := http.ParseTime(v[0])
		if err != nil {
			return nil, newError(CodeIncompleteSignature, "Date %q is not an HTTP date", clip(v[0]))
		}
		sig.time = t.UTC()
		sig.amzDate, sig.dateHeader = sig.time.Format(amzDateLayout), "date"
		return sig, nil
	}
	return nil, newError(CodeIncompleteSignature, "the request carries neither X-Amz-Date nor Date: the request time is part of the signature")
}

// authorization is a parsed Authorization header.
type authorization struct {
	accessKeyID   string
	scope         Scope
	signedHeaders []string
	signature     []byte
}

const authorizationForm = "AWS4-HMAC-SHA256 Credential=<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request, SignedHeaders=<h1;h2;…>, Signature=<64 hex digits>"

// parseAuthorization parses the header form's Authorization value.
func parseAuthorization(h string) (*authorization, error) {
	if len(h) > maxAuthorization {
		return nil, newError(CodeIncompleteSignature, "Authorization is %d bytes, more than %d", len(h), maxAuthorization)
	}
	alg, rest, ok := strings.Cut(h, " ")
	if !ok {
		return nil, newError(CodeIncompleteSignature, "Authorization %q: want %s", clip(h), authorizationForm)
	}
	if alg != Algorithm {
		return nil, newError(CodeIncompleteSignature, "Authorization algorithm %q is not supported: want %s", clip(alg), Algorithm)
	}
	var cred, signed, sigHex string
	var seen [3]bool
	for i, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, newError(CodeIncompleteSignature, "Authorization component %d %q is not name=value: want %s", i+1, clip(part), authorizationForm)
		}
		var slot int
		switch name {
		case "Credential":
			slot, cred = 0, value
		case "SignedHeaders":
			slot, signed = 1, value
		case "Signature":
			slot, sigHex = 2, value
		default:
			return nil, newError(CodeIncompleteSignature, "Authorization component %q is not one of Credential, SignedHeaders, Signature", clip(name))
		}
		if seen[slot] {
			return nil, newError(CodeIncompleteSignature, "Authorization names %s twice", name)
		}
		seen[slot] = true
	}
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[i] {
			return nil, newError(CodeIncompleteSignature, "Authorization has no %s component: want %s", name, authorizationForm)
		}
	}
	a := &authorization{}
	var err error
	if a.accessKeyID, a.scope, err = parseCredential("Credential", cred); err != nil {
		return nil, err
	}
	if a.signedHeaders, err = parseSignedHeaders("SignedHeaders", signed); err != nil {
		return nil, err
	}
	if a.signature, err = parseSignatureHex("Signature", sigHex); err != nil {
		return nil, err
	}
	return a, nil
}

// parseCredential parses <access key id>/<date>/<region>/<service>/aws4_request.
func parseCredential(field, s string) (string, Scope, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 {
		return "", Scope{}, newError(CodeIncompleteSignature, "%s %q: want <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request", field, clip(s))
	}
	akid, sc := parts[0], Scope{Date: parts[1], Region: parts[2], Service: parts[3]}
	if akid == "" || len(akid) > maxAccessKeyID {
		return "", Scope{}, newError(CodeIncompleteSignature, "%s: the access key id must have 1–%d characters", field, maxAccessKeyID)
	}
	if len(sc.Date) != 8 || !digits(sc.Date) {
		return "", Scope{}, newError(CodeIncompleteSignature, "%s: scope date %q is not YYYYMMDD", field, clip(sc.Date))
	}
	if _, err := time.Parse(scopeDateLayout, sc.Date); err != nil {
		return "", Scope{}, newError(CodeIncompleteSignature, "%s: scope date %q is not a date", field, sc.Date)
	}
	if sc.Region == "" || sc.Service == "" {
		return "", Scope{}, newError(CodeIncompleteSignature, "%s %q: region and service must not be empty", field, clip(s))
	}
	if parts[4] != scopeTerminator {
		return "", Scope{}, newError(CodeIncompleteSignature, "%s: scope must end with %s, not %q", field, scopeTerminator, clip(parts[4]))
	}
	return akid, sc, nil
}

// parseSignedHeaders parses a signed header list: lower-case header names
// separated by ';', in ascending order, each once.
func parseSignedHeaders(field, s string) ([]string, error) {
	if s == "" {
		return nil, newError(CodeIncompleteSignature, "%s is empty: it must name at least host", field)
	}
	names := strings.Split(s, ";")
	if len(names) > maxSignedHeaders {
		return nil, newError(CodeIncompleteSignature, "%s names %d headers, more than %d", field, len(names), maxSignedHeaders)
	}
	for i, n := range names {
		if n == "" || !lowerToken(n) {
			return nil, newError(CodeIncompleteSignature, "%s: entry %d %q is not a lower-case header name", field, i+1, clip(n))
		}
		if i > 0 && names[i-1] >= n {
			return nil, newError(CodeIncompleteSignature, "%s %q: names must be in ascending order, each once", field, clip(s))
		}
	}
	return names, nil
}

// parseSignatureHex parses a signature: 64 hex digits.
func parseSignatureHex(field, s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, newError(CodeIncompleteSignature, "%s has %d characters: want 64 hex digits", field, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, newError(CodeIncompleteSignature, "%s is not 64 hex digits", field)
	}
	return b, nil
}

func parseAmzDate(field, s string) (time.Time, error) {
	if len(s) != len(amzDateLayout) {
		return time.Time{}, newError(CodeIncompleteSignature, "%s %q: want YYYYMMDDTHHMMSSZ", field, clip(s))
	}
	t, err := time.Parse(amzDateLayout, s)
	if err != nil {
		return time.Time{}, newError(CodeIncompleteSignature, "%s %q: want YYYYMMDDTHHMMSSZ", field, clip(s))
	}
	return t, nil
}

// parsePresigned reads a presigned query's parameters.
func parsePresigned(r *http.Request) (*signature, error) {
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	get := func(name string, required bool) (string, bool, error) {
		var v string
		n := 0
		for _, p := range params {
			if p.name == name {
				v = p.value
				n++
			}
		}
		switch {
		case n > 1:
			return "", false, newError(CodeIncompleteSignature, "query parameter %s is sent %d times", name, n)
		case n == 0 && required:
			return "", false, newError(CodeIncompleteSignature, "a presigned request needs the query parameter %s", name)
		}
		return v, n == 1, nil
	}
	sig := &signature{presigned: true}
	alg, _, err := get("X-Amz-Algorithm", true)
	if err != nil {
		return nil, err
	}
	if alg != Algorithm {
		return nil, newError(CodeIncompleteSignature, "X-Amz-Algorithm %q is not supported: want %s", clip(alg), Algorithm)
	}
	cred, _, err := get("X-Amz-Credential", true)
	if err != nil {
		return nil, err
	}
	if sig.accessKeyID, sig.scope, err = parseCredential("X-Amz-Credential", cred); err != nil {
		return nil, err
	}
	if sig.amzDate, _, err = get("X-Amz-Date", true); err != nil {
		return nil, err
	}
	if sig.time, err = parseAmzDate("X-Amz-Date", sig.amzDate); err != nil {
		return nil, err
	}
	exp, _, err := get("X-Amz-Expires", true)
	if err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !digits(exp) || secs < 1 || secs > int64(MaxExpires/time.Second) {
		return nil, newError(CodeIncompleteSignature, "X-Amz-Expires %q: want whole seconds from 1 to %d (7 days)", clip(exp), int64(MaxExpires/time.Second))
	}
	sig.expires = time.Duration(secs) * time.Second
	signed, _, err := get("X-Amz-SignedHeaders", true)
	if err != nil {
		return nil, err
	}
	if sig.signedHeaders, err = parseSignedHeaders("X-Amz-SignedHeaders", signed); err != nil {
		return nil, err
	}
	sigHex, _, err := get("X-Amz-Signature", true)
	if err != nil {
		return nil, err
	}
	if sig.signature, err = parseSignatureHex("X-Amz-Signature", sigHex); err != nil {
		return nil, err
	}
	return sig, nil
}

type param struct{ name, value string }

// parseQuery decodes a raw query into its parameters in order. '+' is a
// space, as in every query the SDKs send.
func parseQuery(raw string) ([]param, error) {
	var out []param
	for raw != "" {
		var piece string
		piece, raw, _ = strings.Cut(raw, "&")
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return nil, newError(CodeIncompleteSignature, "query parameter name %q is not validly escaped", clip(k))
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, newError(CodeIncompleteSignature, "query parameter %q: value %q is not validly escaped", clip(name), clip(v))
		}
		out = append(out, param{name, value})
	}
	return out, nil
}

// canonicalRequest builds the canonical request of r as signed.
func canonicalRequest(r *http.Request, sig *signature, payloadHash string) (string, error) {
	query, err := canonicalQuery(r.URL.RawQuery, sig.presigned)
	if err != nil {
		return "", err
	}
	headers, err := canonicalHeaders(r, sig.signedHeaders)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r))
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(strings.Join(sig.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// canonicalURI is the path as the client sent it, percent-encoded once
// more (every byte outside the unreserved set and '/').
func canonicalURI(r *http.Request) string {
	raw := r.URL.EscapedPath()
	if strings.HasPrefix(r.RequestURI, "/") {
		raw, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if raw == "" {
		return "/"
	}
	return escape(raw, true)
}

// canonicalQuery decodes the query, re-encodes each name and value, and
// sorts the pairs by name, then value. A presigned request's signature is
// left out.
func canonicalQuery(raw string, presigned bool) (string, error) {
	params, err := parseQuery(raw)
	if err != nil {
		return "", err
	}
	enc := make([]param, 0, len(params))
	for _, p := range params {
		if presigned && p.name == "X-Amz-Signature" {
			continue
		}
		enc = append(enc, param{escape(p.name, false), escape(p.value, false)})
	}
	slices.SortFunc(enc, func(a, b param) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String(), nil
}

// canonicalHeaders lists each signed header as name:value, values trimmed,
// runs of spaces collapsed, and repeated headers joined with ','.
func canonicalHeaders(r *http.Request, signed []string) (string, error) {
	byName := make(map[string][]string, len(r.Header))
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		byName[lk] = append(byName[lk], v...)
	}
	var b strings.Builder
	for _, name := range signed {
		vals := byName[name]
		switch {
		case name == "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			vals = []string{host}
		case name == "content-length" && len(vals) == 0 && r.ContentLength >= 0:
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		if len(vals) == 0 {
			return "", newError(CodeInvalidSignature, "signed header %q is not in the request", clip(name))
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(collapseSpaces(v)))
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

// escape percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (and '/'
// when keepSlash), with upper-case hex.
func escape(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// lowerToken reports whether s is an HTTP header name (RFC 9110 token)
// without upper-case letters.
func lowerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
