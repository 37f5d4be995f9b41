//go:build darwin

package filehash

import (
	"syscall"
	"time"
)

func fileTimes(st *syscall.Stat_t) (mtime, ctime time.Time) {
	return time.Unix(st.Mtimespec.Unix()), time.Unix(st.Ctimespec.Unix())
}
