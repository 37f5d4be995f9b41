//go:build linux

package filehash

import (
	"syscall"
	"time"
)

func fileTimes(st *syscall.Stat_t) (mtime, ctime time.Time) {
	return time.Unix(st.Mtim.Unix()), time.Unix(st.Ctim.Unix())
}
