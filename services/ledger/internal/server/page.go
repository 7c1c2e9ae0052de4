package server

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
)

// Every List call pages: page_size items at most (default 100, at most
// 1,000), and an opaque next_page_token until the list is complete.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// maxPageTokenLen bounds page_token; the tokens given out are far shorter.
	maxPageTokenLen = 512
)

// pageToken is what a next_page_token carries, JSON in base64: where the
// list goes on (a stream sequence, or the last key of a sorted list), and a
// hash of the list and the query it continues, so that a token is refused by
// another list, team, organisation or filter.
type pageToken struct {
	V     int    `json:"v"`
	Query uint64 `json:"q"`
	Seq   uint64 `json:"s,omitempty"`
	Key   string `json:"k,omitempty"`
}

const pageTokenVersion = 1

// page is one List request's page: its size and where it starts.
type page struct {
	size  int
	query uint64
	after pageToken // zero on the first page
}

// pageOf checks page_size and page_token of a request to the list named by
// query (the list's name, then whatever else the answer depends on).
func pageOf(bad *grpcserver.Violations, size int32, token string, query ...string) page {
	h := fnv.New64a()
	for _, q := range query {
		h.Write([]byte(q))
		h.Write([]byte{0})
	}
	p := page{size: int(size), query: h.Sum64()}
	switch {
	case size == 0:
		p.size = defaultPageSize
	case size < 0 || size > maxPageSize:
		bad.Add("page_size", "must be between 0 (the default, %d) and %d, got %d", defaultPageSize, maxPageSize, size)
	}
	if token == "" {
		return p
	}
	if len(token) > maxPageTokenLen {
		bad.Add("page_token", "is longer than %d characters: not a token this list gave out", maxPageTokenLen)
		return p
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(raw, &p.after)
	}
	if err != nil || p.after.V != pageTokenVersion || p.after.Query != p.query {
		bad.Add("page_token", "%q is not a token this list gave out for this query", prefix(token, 16))
	}
	return p
}

// next is the next_page_token that goes on after seq or key.
func (p page) next(seq uint64, key string) string {
	raw, _ := json.Marshal(pageToken{V: pageTokenVersion, Query: p.query, Seq: seq, Key: key})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// sortedPage returns the items of a list sorted by key that follow the
// page's last key, at most a page of them, and the token of the next page
// ("" when these are the last).
func sortedPage[T any](p page, items []T, key func(T) string) ([]T, string) {
	start := 0
	if p.after.Key != "" {
		start, _ = slices.BinarySearchFunc(items, p.after.Key, func(it T, k string) int { return strings.Compare(key(it), k) })
		if start < len(items) && key(items[start]) == p.after.Key {
			start++
		}
	}
	items = items[start:]
	if len(items) <= p.size {
		return items, ""
	}
	items = items[:p.size]
	return items, p.next(0, key(items[len(items)-1]))
}

// prefix is at most n bytes of s, for quoting what a request sent.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
