package grpcserver

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"sort"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Every List call pages: at most a page size of items (default 100, at most
// 1,000) and an opaque next_page_token until the list is complete.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxPageToken bounds page_token; the tokens given out are far shorter.
	MaxPageToken = 512
)

// Page is one List request's page: how many items, and after which key it
// starts ("" on the first page).
type Page struct {
	Size  int
	After string
	query uint64
}

// pageToken is what a token carries, JSON in base64url: where the list goes
// on and a hash of the list and the query it continues, so that another
// list, organisation or filter refuses it. A client that forges one only
// moves within its own list: every handler still confines what it reads.
type pageToken struct {
	V     int    `json:"v"`
	Query uint64 `json:"q"`
	After string `json:"a"`
}

const pageTokenVersion = 1

// PageOf checks a request's page size (named sizeField: "page_size", or
// "limit" where that is the size) and its page_token, against the list named
// by query: the list's name, then everything else its answer depends on.
func PageOf(bad *Violations, sizeField string, size int32, token string, query ...string) Page {
	h := fnv.New64a()
	for _, q := range query {
		h.Write([]byte(q))
		h.Write([]byte{0})
	}
	p := Page{Size: int(size), query: h.Sum64()}
	switch {
	case size == 0:
		p.Size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		bad.Add(sizeField, "must be 0 (the default, %d) to %d, got %d", DefaultPageSize, MaxPageSize, size)
	}
	if token == "" {
		return p
	}
	var t pageToken
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil && len(token) <= MaxPageToken {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil || len(token) > MaxPageToken || t.V != pageTokenVersion || t.Query != p.query || t.After == "" {
		bad.Add("page_token", "%s is not a token this list gave out for this query", quote.Prefix(token))
		return p
	}
	p.After = t.After
	return p
}

// Next is the token of the page that starts after the item keyed after.
func (p Page) Next(after string) string {
	raw, _ := json.Marshal(pageToken{V: pageTokenVersion, Query: p.query, After: after})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// PageSlice returns the page of items, sorted by ascending unique key, and
// the next page's token ("" when the list is complete).
func PageSlice[T any](p Page, items []T, key func(T) string) ([]T, string) {
	start := 0
	if p.After != "" {
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > p.After })
	}
	items = items[start:]
	if len(items) <= p.Size {
		return items, ""
	}
	items = items[:p.Size]
	return items, p.Next(key(items[len(items)-1]))
}
