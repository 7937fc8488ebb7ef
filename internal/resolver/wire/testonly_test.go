package wire

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// QuestionEnd is the offset after the question of a stored response.
func QuestionEnd(msg []byte) (int, error) {
	off, err := skipName(msg, HeaderLen)
	if err != nil || off+4 > len(msg) {
		return 0, ErrFormat
	}
	return off + 4, nil
}
