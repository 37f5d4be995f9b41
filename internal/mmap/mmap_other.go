//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package mmap

import (
	"errors"
	"os"
)

// mmapFile reports that this system has no mmap; the caller reads the file.
func mmapFile(*os.File, int) (*File, error) {
	return nil, errors.New("mmap not supported")
}
