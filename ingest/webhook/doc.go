// Package webhook reads ticket systems' webhook deliveries into demand
// events: the presets, each of which authenticates one sender's requests
// (Authenticate), names the delivery (DeliveryID) and maps its payload to
// an Event (Map). The HTTP server that calls them lives alongside.
//
// Every source must have a secret; every comparison is constant-time.
//
//   - github: X-Hub-Signature-256 = sha256=hex(HMAC-SHA256(secret, body)).
//     issues opened/closed/reopened (deleted closes, other actions update)
//     and new issue_comment; ping, push, pull requests and the rest are
//     ignored. Ticket "owner/repo#number"; the customer is the issue's
//     author, the organisation the payload's organization.
//   - gitlab: X-Gitlab-Token equals the secret. Issue Hook
//     (open/update/close/reopen) and Note Hook on issues. Ticket
//     "group/project#iid"; the acting user is the customer only when it is
//     the author.
//   - jira: X-Hub-Signature = sha256=hex(HMAC-SHA256(secret, body)) (Cloud
//     admin webhooks) or Authorization: Bearer <secret> (Server/DC, which
//     signs nothing); no query-string secret. jira:issue_created,
//     jira:issue_updated (comment, done/resolution → closed, back →
//     reopened), comment_created, jira:issue_deleted. Ticket the issue
//     key, URL …/browse/KEY.
//   - zendesk: X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret,
//     X-Zendesk-Webhook-Signature-Timestamp + body)), timestamp within 5
//     minutes. zen:event-type:ticket.* events; ticket the ticket id;
//     requester and organisation ids in Record.Extra.
//   - feishu (飞书): the secret is the Verification Token. Encrypted bodies
//     {"encrypt": …} are decrypted with the Encrypt Key (AES-256-CBC);
//     with an Encrypt Key, X-Lark-Signature = hex(SHA-256(timestamp +
//     nonce + key + body)) is required; the payload's token must be the
//     Verification Token; url_verification is answered with a *Challenge.
//     服务台 helpdesk.ticket.created_v1, .updated_v1 and
//     helpdesk.ticket_message.created_v1; chat messages are ignored.
//   - dingtalk (钉钉 robot callback): sign = base64(HMAC-SHA256(secret,
//     timestamp + "\n" + secret)), timestamp (ms) within an hour; the body
//     is not signed. Text and richText messages, each its own ticket (its
//     msgId), the sender the customer.
//   - generic: X-Demandd-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret,
//     t + "." + body)), t within 5 minutes, or Authorization: Bearer
//     <secret>. Fields at the JSON Pointers of SourceConfig.Mapping;
//     ticket and title or text are required.
//
// Urgency comes from priority fields and labels on demand's three levels:
// P0/P1, blocker, critical, highest, urgent, 紧急, 加急 are high; P2,
// high, major medium; P3/P4, low, minor, trivial low; anything else,
// including a scale's default medium or normal, leaves it to the rules.
// A closed event asks for demand.StatusClosed, a reopened one for
// demand.StatusInProgress; SourceConfig.Status overrides both by the
// sender's event, action or state name. A mapped Event always has a
// ticket and a title or text; otherwise Map returns a *PayloadError
// naming the missing field, or an *IgnoreError for events that are not
// about a ticket.
package webhook
