package imageproc

import "os"

var osReadFile = os.ReadFile
