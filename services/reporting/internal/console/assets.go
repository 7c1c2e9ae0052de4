package console

import (
	"embed"
	"io/fs"
	"net/http"
)

// The built single-page app (web/ is its source; `make console` rebuilds
// it). The built files are committed so a Go build needs no npm.
//
//go:embed all:assets
var built embed.FS

// assets serves the app. Its files carry no content hash in their names, so
// browsers revalidate every time rather than run a stale console against a
// newer API.
func assets() http.Handler {
	root, err := fs.Sub(built, "assets")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
