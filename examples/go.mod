// A module of its own, holding no code: it keeps these photos out of the
// module zip that `go install github.com/goclip/goclip/cmd/goclip@latest`
// downloads. A clone has them.
module github.com/goclip/goclip/examples

go 1.26.0
