package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// CheckAddr refuses to serve on a non-loopback address without an API key:
// a model server open to the network must not be usable by anyone who can
// reach it.
func CheckAddr(addr, apiKey string) error {
	if apiKey != "" || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without an API key: set --api-key or GOCLIP_API_KEY, or listen on 127.0.0.1", addr)
}

// IsLoopback reports whether addr ("host:port") can only be reached from
// this machine: a loopback IP or "localhost". An empty host (all
// interfaces) and any other name are not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authorized reports whether r carries the API key, compared in constant
// time (over SHA-256 digests, so the key's length does not leak either).
func (s *Server) authorized(r *http.Request) bool {
	if s.opt.APIKey == "" {
		return true
	}
	got := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); got == "" && a != "" {
		scheme, token, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			got = strings.TrimSpace(token)
		}
	}
	if got == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.opt.APIKey))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
