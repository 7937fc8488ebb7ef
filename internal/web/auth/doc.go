// Package auth holds the dashboard's access control: the users and API
// tokens of the configuration file, password hashes (argon2id, bcrypt),
// sessions, CSRF tokens and the limiter of wrong passwords. It keeps no
// secret in plain text: passwords are verified against hashes and sessions
// and tokens are looked up by their SHA-256.
//
// It must never import the store, the web handlers or anything that logs a
// request: it decides, the caller reports.
package auth
