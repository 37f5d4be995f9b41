//go:build !linux

package mmap

const evictSupported = false

func hugePages([]byte) error { return nil }

func evict(string) error { return nil }
