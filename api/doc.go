// Package api is demandd's authenticated JSON API over the register, served
// under /api/v1/ (New returns the handler; the daemon mounts it). openapi.json,
// embedded and served at GET /api/v1/openapi.json, is the reference; a test
// holds it against the route table in api.go.
//
//	GET   /api/v1/demands          list, filtered, newest first, keyset-paged
//	GET   /api/v1/demands/{code}   one demand: history, follow_ups, duplicates, raw_items
//	PATCH /api/v1/demands/{code}   record progress, correct type or urgency
//	GET   /api/v1/stats            counts by type, urgency, priority, status, channel
//	GET   /api/v1/openapi.json     the description (no token: it holds no data)
//
// Tokens come from [[api.token]] blocks (TokenConfig): a bearer token,
// compared in constant time with every configured token; scope read may GET,
// write may GET and PATCH. A PATCH is recorded in the demand's history as
// made by "api:NAME".
//
// Decisions:
//   - Times in answers are RFC 3339 in UTC. since and until take an RFC 3339
//     time or a date in Options.Location; a date as until includes that day.
//   - Errors are {"error": English, "error_zh": Chinese}: the daemon's
//     messages are bilingual, and a client picks the one it shows.
//   - Enumerations are accepted as English values or Chinese labels and
//     synonyms (demand's Parse functions) and answered as English values,
//     each with a *_label in Chinese beside it.
//   - Unknown query parameters and body fields are refused (400), so that
//     a misspelt filter does not silently list everything.
//   - The cursor is opaque (the order and the last id); paging is keyset on
//     the primary key, so rows arriving meanwhile neither repeat nor shift
//     pages. order=asc lists oldest first, for clients that follow along.
//   - type and urgency in a PATCH are confirmed labels (store.Progress): they
//     set the demand's type or urgency, are kept beside the rules' reasons
//     and survive a replay of the rules. Urgency also moves the priority to
//     its quadrant (demand.Quadrant); nothing else is recomputed — not the
//     SLA deadline (it needs the classifier's calendar), not importance, and
//     a low satisfaction does not reopen the demand.
//   - A PATCH that changes nothing answers 200 and adds no history; a type
//     or urgency equal to the rules' answer but not yet confirmed does
//     change something: the confirmation.
//   - GET one answers an ETag (the record's revision); PATCH with
//     If-Match answers 409 when the demand changed since.
//   - Stats count every record, duplicates included, and list the values
//     present only.
package api
