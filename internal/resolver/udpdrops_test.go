package resolver

import (
	"strings"
	"testing"
)

const procUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops             
  123: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 9339     
  124: 0100007F:0035 00000000:0000 07 00000000:00033600 00:00000000 00000000     0        0 4243 2 0000000000000000 17       
  125: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 999 2 0000000000000000 500      
`

func TestParseProcUDP(t *testing.T) {
	ours := map[uint64]bool{4242: true, 4243: true}
	n, err := parseProcUDP(strings.NewReader(procUDP), func(i uint64) bool { return ours[i] })
	if err != nil || n != 9339+17 {
		t.Errorf("drops %d, %v; want %d (not the other socket's 500)", n, err, 9339+17)
	}
	bad := procUDP + "  126: 0100007F:0035 00000000:0000 07 x 00:0 0 0 0 notanumber 2 0 1\n"
	if _, err := parseProcUDP(strings.NewReader(bad), func(uint64) bool { return true }); err == nil || !strings.Contains(err.Error(), "line 5: inode") {
		t.Errorf("bad inode: %v", err)
	}
	short := procUDP + "  126: 0100007F:0035\n"
	if _, err := parseProcUDP(strings.NewReader(short), func(uint64) bool { return true }); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("short line: %v", err)
	}
}

// FuzzParseProcUDP: any table is summed or refused, never a panic.
func FuzzParseProcUDP(f *testing.F) {
	f.Add([]byte(procUDP))
	f.Add([]byte("h\n1 2 3 4 5 6 7 8 9 10 11 12 13\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseProcUDP(strings.NewReader(string(b)), func(i uint64) bool { return i%2 == 0 })
	})
}
