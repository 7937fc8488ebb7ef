//go:build !unix

package follow

import "os"

// fileID has no inode to offer here: identity rests on the path and the
// fingerprint alone, and a rename is seen only as a changed fingerprint.
func fileID(fi os.FileInfo) (dev, ino uint64) { return 0, 0 }
