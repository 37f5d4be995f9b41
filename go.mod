module github.com/goclip/goclip

go 1.26.8

require (
	go.etcd.io/bbolt v1.5.0
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
