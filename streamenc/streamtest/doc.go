// Package streamtest is an in-process emulator of the Stream Chat REST API,
// the subset that stream-chat-go v6.10.0 uses, for tests and offline demos.
//
// NewServer starts a real HTTP server on a loopback port with its own state
// and random credentials; Server.Client returns an unmodified
// stream-chat-go client pointed at it:
//
//	srv := streamtest.NewServer()
//	defer srv.Close()
//	client := srv.Client()
//	client.UpsertUser(ctx, &stream.User{ID: "alice"})
//
// Browsers and phones talk to Stream with user tokens; tests do the same
// with Server.UserToken and Server.NewUserRequest, which builds a request
// exactly as Stream's JavaScript client sends one. Webhooks go to the URL
// set with UpdateAppSettings (PATCH /app) or Server.SetWebhookURL, signed as
// Stream signs them; Server.WaitWebhooks waits for delivery.
//
// A Server is safe for concurrent use and keeps no global state; the
// package does not import package testing, so it also serves the offline
// quickstart.
//
// # What is emulated
//
// Every request of spec §3 (shared/specs/stream-chat.md), at the same paths
// with no version prefix:
//
//   - users: upsert (POST /users, replace semantics), partial update (PATCH
//     /users), query (GET /users, filters and sort), delete (soft or hard,
//     optionally marking their messages deleted and deleting their 1:1
//     channels), custom events (POST /users/{id}/event);
//   - channels of the built-in types (messaging, team, livestream, commerce,
//     gaming): get-or-create with an ID or as a distinct channel (ID
//     "!members-" + the first 32 characters of base64url(SHA-256 of the
//     sorted member IDs joined with ","), as the probe derived it), query
//     with message pagination (limit, offset, id_lt/lte/gt/gte, id_around,
//     created_at_*), update (data, add/remove members with hide_history,
//     add/demote moderators, assign_roles, invites, accept/reject invite,
//     an optional message), partial update, delete, truncate (soft or hard,
//     truncated_at, an optional message), query channels (filters, sort,
//     limit, offset, message_limit, member_limit, hidden channels), query
//     members, mark read / mark all read with unread counts, typing and
//     custom events, hide/show (clear_history), stop-watching;
//   - messages: send (client-chosen IDs through ExtraData["id"], replies
//     with reply_count and thread_participants, show_in_channel, quotes with
//     an embedded quoted_message, mentions, silent, pinned, system messages),
//     get, get many, update (full replace), partial update (set/unset, pin
//     and unpin with pinned_at, pinned_by and pin_expires), soft and hard
//     delete, replies with pagination, search (query or message filters,
//     channel filter, sort, limit, offset, next/previous cursors);
//   - reactions: send (one per user and type, enforce_unique, custom
//     fields), delete, list; latest_reactions, own_reactions,
//     reaction_counts and reaction_scores on messages;
//   - uploads: file and image upload (multipart, the user part and the file
//     part), download of the bytes at the returned URL, delete;
//   - app settings: GET /app, and PATCH /app for webhook_url,
//     webhook_events, before_message_send_hook_url (stored only),
//     custom_action_handler_url (stored only), disable_auth_checks,
//     disable_permissions_checks, file_upload_config and
//     image_upload_config (allowed/blocked extensions and MIME types are
//     enforced);
//   - webhooks: channel.created/updated/deleted/truncated,
//     member.added/updated/removed, message.new/updated/deleted/read and
//     reaction.new/updated/deleted, delivered as POSTs with Content-Type
//     application/json, X-Signature (lowercase hex HMAC-SHA256 of the body,
//     keyed with the API secret), X-Api-Key, X-Webhook-Id (the same on every
//     attempt) and X-Webhook-Attempt (from 1); one at a time, in the order
//     the events happened (an event waits until the one before it is
//     delivered or given up); retried as Stream documents: a 408, 429 or
//     5xx answer or a timeout 3 attempts in all, a network error 2, any
//     other answer 1, all within 15 s; every attempt is recorded
//     (WebhookDeliveries).
//
// Custom data (ExtraData) is stored per key as the raw JSON sent and
// returned flattened into the object, as Stream does (§2): numbers keep
// their spelling, nested objects their layout. The server-owned keys a
// decoded stream-chat-go object carries back in ExtraData (§2.2:
// deleted_reply_count, message_text_updated_at, quoted_message, channel,
// banned, member_count, own_capabilities, …) are ignored in requests and
// never stored as custom data, so re-sending a decoded object is harmless.
// Responses never send "" for a timestamp, always carry id, type and cid on
// channels and a channel on every QueryChannels item, and message on
// DeleteReaction (the client pitfalls of §6.3).
//
// # Authentication checks
//
// In this order (spec §6.1): api_key in the query must be the app key (401,
// code 2); Stream-Auth-Type must be "jwt" (401, code 5; "anonymous" is not
// supported); Authorization must hold a three-part JWT ("Bearer " is
// tolerated) whose header has alg HS256 (401, code 5) and whose HMAC-SHA256
// signature, checked in constant time, was made with the API secret (401,
// code 43); exp must be in the future (401, code 40), nbf and iat not more
// than 5 s in the future (41, 42); the claims must hold "server": true
// (server side) or a non-empty "user_id" (client side, as that user),
// otherwise 401, code 5. Dev tokens (signature "devtoken") are accepted for
// user IDs only, and only once disable_auth_checks is set.
//
// Server-side requests pass every permission and membership check, as on
// Stream (the SDK's own tests send messages as non-members).
//
// # Permission checks for user tokens
//
// A "member" below is a channel member who was not invited, or accepted
// the invite. Users whose global role is admin, and everyone once
// disable_permissions_checks is set, pass these checks. Refusals are 403,
// code 17, worded as Stream words them ("User 'carol' with role 'user' is
// not allowed to perform action CreateMessage in scope 'messaging'").
//
//   - Reading a channel (query, get message, get messages, replies,
//     reactions list, query members), sending messages, reacting, marking
//     read, sending events and uploading: members only.
//   - Messages from before a member joined with hide_history, or before a
//     clear_history hide, are invisible to that member (404 for a single
//     message).
//   - Acting for someone else is refused: a user_id or user in a message,
//     reaction, read, event, upload or invite answer must be the token's
//     user or absent.
//   - Editing a message (update, or partial update of anything but pinned
//     and pin_expires): its author only. Pinning: any member.
//   - Deleting a message: its author, or the channel's owner or a
//     moderator. Hard deletes: server side only.
//   - Updating the channel's data and flags, adding members, moderators,
//     roles and invites: the channel's creator, or a member with the
//     channel_owner or channel_moderator role. Removing members: the same,
//     except that a member may remove themselves.
//   - Deleting and truncating a channel: its creator or a member with the
//     channel_owner role.
//   - Creating a channel: allowed when the creator is among the members
//     (created_by is always the token's user); a distinct channel gets the
//     creator added to its members.
//   - Query channels and search: only the user's channels are considered.
//   - Users: a user may upsert and partially update only themselves and may
//     not change their role; deleting users, PATCH /app and user custom
//     events are server side only. System messages are server side only.
//   - Deleting an upload: its uploader, the channel's owner or a moderator.
//   - A frozen channel refuses messages from user tokens.
//
// # Limits and rejections
//
// Each answers with Stream's error envelope ({"code", "message",
// "StatusCode" equal to the HTTP status, "duration", "more_info",
// "details"}) and the X-Ratelimit-* headers, which are sent on every answer:
//
//   - malformed JSON, a body that is not an object, a field of the wrong
//     JSON type: 400, code 4;
//   - a JSON body over Config.MaxBodyBytes (5 MB): 413, code 22; one file
//     over Config.MaxUploadBytes (100 MB): 413, code 22;
//   - message text over max_message_length (Config.MaxMessageLength, 5000)
//     runes: 400, code 20;
//   - custom data of a message, user, channel or reaction over 5120 bytes
//     (the JSON object of its custom keys): 400, code 4;
//   - over 30 attachments, 100 mentioned users, 100 members in one
//     operation; a message ID over 255 characters or already used; a
//     message with neither text nor attachments; a message type other than
//     regular or system: 400, code 4;
//   - a reply to a reply: 400, code 21; a parent or quoted message that is
//     missing or in another channel: 400, code 4;
//   - users involved in an operation that do not exist: 400, code 4
//     ("The following users are involved in this operation, but don't
//     exist: [...]");
//   - server-side channel creation without created_by or created_by_id, a
//     distinct channel without members: 400, code 4;
//   - unknown channel type, channel, message, reaction or user: 404, code
//     16; an unknown route: 404 (405 for a known path with another method),
//     code 16, never a redirect;
//   - search without a channel filter or without query or message filters,
//     get messages without ids, query users without filter_conditions, an
//     unknown filter operator, a limit over the maximum: 400, code 4;
//   - more requests to one route in one minute than Config.RateLimit: 429,
//     code 9.
//
// # Inspection, faults and time
//
// Messages, Message, Uploads, Users, Channels, Events, WebhookDeliveries
// and Requests return copies of what the server holds or saw. Walk visits
// every stored byte (user and channel custom data, message text, custom
// fields and attachments, reactions, upload names, types, URLs and bytes,
// event bodies, request bodies and query strings), giving JSON both whole
// and as its decoded strings and keys; Find reports where a needle occurs,
// which is how a test proves that no plaintext reached the server.
// InjectFault makes the next matching requests fail (a status and code, a
// raw non-JSON body, a delay, or a dropped connection); SetLatency delays
// every request; Config.Now sets the clock.
//
// # Differences from Stream
//
// The emulator follows the spec's captures and documentation; where those
// are silent it makes a documented choice. Known differences:
//
//  1. No WebSocket (/connect), so no realtime events, watchers or presence;
//     "watch" and "presence" are accepted and ignored, watcher_count is
//     always 0, connection_id is not checked.
//  2. html is the text HTML-escaped in one <p> (newlines as <br/>), not
//     Stream's markdown rendering; html and mml sent server side are
//     ignored. No URL enrichment, slash commands, translations,
//     moderation, push notifications, pending messages, polls or threads
//     lists (skip_push, skip_enrich_url, pending and
//     pending_message_metadata are accepted and ignored).
//  3. Search matches every whitespace-separated term of query as a
//     case-insensitive substring of the text, not Stream's full-text
//     engine; results are newest first by default, not by relevance.
//     Deleted messages are not found; replies are.
//  4. Filters support $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists,
//     $contains, $autocomplete and $q (the last two as the substring match
//     above), and $and, $or, $nor, over the fields of the object as
//     returned (custom ones included, nested ones with dots), plus
//     "members", "joined" and "hidden" on channels. Stream restricts which
//     fields each query may filter and sort on; the emulator does not.
//  5. Default and maximum page sizes: channel messages and replies 25/300,
//     query channels 10/30 (message_limit 25/300, member_limit 100/100),
//     query users 30/100 (offset 1000), members 100/300, reactions 25/300,
//     search 20/100 (offset 1000). An id_lt/id_gt/… naming a message that
//     is not in the list is refused (400, code 4). GetMessages returns the
//     messages in the order asked. Default sorts: query users and members
//     by creation, query channels by last_updated (latest message or
//     creation) descending.
//  6. Distinct channel IDs are derived as described above, not with
//     Stream's (unpublished) hash; channel IDs may hold letters, digits and
//     ! - _ @ (up to 64), user IDs letters, digits and @ _ - . (up to 255).
//  7. Only the built-in channel types exist, all with the same
//     configuration (every feature on, max_message_length from Config)
//     and the permission rules above, which approximate Stream's default
//     "messaging" grants; there are no custom roles or permission policies
//     (channel roles: channel_owner, channel_moderator, channel_member;
//     the global role admin bypasses the checks).
//  8. Updating a message keeps its parent_id and sets
//     message_text_updated_at only when the text changes. Soft-deleted
//     messages keep their text, attachments and custom data (as returned to
//     server-side calls) and cannot be updated. Hard-deleting a thread's
//     parent keeps its replies. Soft truncation hides the messages (kept,
//     marked Truncated) instead of deleting them.
//  9. Users: upsert replaces custom data (keeps role when none is sent);
//     soft-deleted users are treated as missing for new operations; token
//     revocation (revoke_tokens_issued_before) is not emulated; users are
//     not created by a user token's first request.
//  10. Uploads are served from the emulator at /uploads/{id}/{name} without
//     authentication or signed query parameters, and kept until deleted or
//     their channel is deleted. The image endpoint requires bytes that
//     http.DetectContentType sniffs as image/* (so encrypted images must use
//     the file endpoint) and returns thumb_url equal to the file URL.
//     Deleting an unknown URL succeeds.
//  11. Webhook bodies carry the fields of spec §5.1 that the probe
//     captured (type, created_at, cid, channel_id, channel_type, and per
//     event message, message_id, user, members, channel_member_count,
//     thread_participants, parent_id, hard_delete, reaction, member,
//     channel); not channel_custom, team, unread counters or
//     message_update. Typing and custom events are answered but not sent
//     to webhooks, and the before-message-send hook and custom action
//     handler are never called. The webhook User-Agent is Go's default.
//     Close drops deliveries that have not started.
//  12. Rate limits are one window per route per minute with one limit for
//     all routes (Config.RateLimit); Stream's limits vary by endpoint and
//     plan.
//  13. Status codes of successes follow the probe (201 for POST and PUT, 200
//     otherwise); messages of errors follow Stream's form
//     `<Operation> failed with error: "<reason>"`, but the reasons, and the
//     codes of cases not listed in spec §6.4, are the emulator's choice.
//  14. Timestamps are microsecond precision in UTC, as Stream's.
package streamtest
