package legal

import (
	"embed"
	"io/fs"
)

//go:embed params
var embedded embed.FS

// Files returns the embedded parameter files, rooted at the params directory
// (one <domain>/<name>.yaml per series). Tests use it to build variants of the
// real table with LoadFS.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "params")
	if err != nil { // cannot happen: "params" is a valid, embedded path
		panic(err)
	}
	return sub
}

// Load parses and validates the embedded parameter table.
func Load() (*Table, error) {
	return LoadFS(Files())
}
