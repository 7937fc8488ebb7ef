package scan

// CorruptSpill changes a byte near the end of the last run the scanner
// spilled to its file, as a failing disk would; false when nothing was
// spilled to a file.
func CorruptSpill(s *Scanner) bool {
	if s.spill == nil {
		return false
	}
	s.spill.flush()
	if s.spill.file == nil || len(s.spill.runs) == 0 {
		return false
	}
	last := s.spill.runs[len(s.spill.runs)-1]
	if last.mem != nil {
		return false
	}
	_, err := s.spill.file.WriteAt([]byte{0xff}, last.off+last.len-3)
	return err == nil
}
