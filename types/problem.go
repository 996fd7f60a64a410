package types

// Problem is an RFC 9457 problem details document with Landfall's stable
// error code: the body of every error response of the HTTP API. The
// server writes it (apiserver turns errcode codes into statuses); clients
// read Code to recover the errcode code.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
}
