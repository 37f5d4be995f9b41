module github.com/goclip/goclip/testdata

// This folder is a module of its own so that the module zip of goclip (what
// `go install` downloads) leaves these test fixtures out.

go 1.26
