// Package follow reads files that grow — Zeek logs, Suricata's eve.json,
// outflow's own query log — line by line as they are written, across
// rotation, and remembers how far each file has been handled so that a
// restart neither skips nor repeats a line: tail -F with a durable offset,
// as Filebeat's registry or fluent-bit's tail database.
//
// # Identity
//
// A file is (device, inode) plus a SHA-256 fingerprint of its first bytes
// (up to Config.Fingerprint). The fingerprint grows with the file until it
// covers Fingerprint bytes; a saved offset is reused only when both the
// inode and the fingerprint match, so an inode the file system hands to a
// new file is read from its start.
//
// # Rotation
//
// Every Config.Poll the follower stats each configured path:
//   - rename and create (logrotate's default, Zeek, the query log): the
//     path names another inode. The old file, still open, is read to its
//     end, then the new file from 0; the old one stays open for
//     Config.RotateWait and until two polls see it idle, in case its
//     writer has not reopened yet.
//   - copytruncate: the same inode is shorter than the read position, or
//     its first bytes changed (truncated and already written past the old
//     offset). Reading restarts at 0. Lines written between the copy and
//     the truncation are lost; that is copytruncate's own hazard.
//   - restart while a rotated file was unread: the saved identity is looked
//     for among the files of the same directory whose name starts with the
//     path's name (conn.log.1, eve.json.1, query.log.20260302T...), and the
//     rest of it is read before the current file.
//
// # Delivery and commit
//
// Only complete lines (ending in \n, which is not delivered) reach the
// Handler, in batches of at most Config.Batch lines, from one goroutine.
// Line bytes are valid only until the Handler returns. A Handler error
// stops that file for the poll; the same lines are read again next time.
// A line longer than Config.MaxLine is skipped and counted, and its file and
// offset logged at most once a minute.
//
// Reading does not move the durable offset: Commit(batch.Cursor) does,
// once the consumer has stored what the lines said (after its batch
// writer flushed). Commit marks everything up to the cursor as handled, so
// commit in order. Committed offsets go to the Offsets every
// Config.SaveInterval and at Close; a kill -9 re-reads what was read but
// not committed and saved (at least once, never lost). Config.CommitOnReturn
// commits as soon as the Handler returns nil, for consumers that keep
// nothing in memory.
//
// # Offsets
//
// The default Offsets is a small JSON file in Config.StateDir, replaced
// atomically (temporary file, fsync, rename, fsync of the directory): it
// works before the store is open, on a read-only store and for a sensor
// that has none. A caller that wants offsets in its store (in the same
// transaction as the records, for exactly once) implements Offsets.
//
// # Headers
//
// A Zeek TSV log declares its columns in header lines (#separator,
// #fields...) at its top. A File with Header "#" gets those lines again in
// Batch.Header on the first batch of a file (Batch.New) whenever reading
// starts past them — a restart from a saved offset — so the consumer's
// per-file parser state can be rebuilt. On Batch.New the consumer must
// forget the previous file's header (rotation, truncation).
//
// It must never import the store, the web UI, a command package, or a
// parser of the lines it reads.
package follow
