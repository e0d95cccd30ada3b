// Package streamenc seals Stream Chat messages on send and opens them on
// receive, so that Stream relays and stores only ciphertext while Go code
// works with plaintext: care-team bots, triage assistants, notification
// services and archivers talking end to end with e3kit apps in browsers
// and on phones. It wraps stream-chat-go v6.10.0 (the only e3go package
// that imports it) and uses an [e3.Client] for keys and cards.
//
//	ch := streamenc.NewChannel(streamChannel, e3client, &streamenc.ChannelOptions{StreamClient: streamClient})
//	sent, err := ch.SendMessage(ctx, &stream.Message{Text: "BP 120/80"}, "care-bot")
//	msgs, err := ch.Query(ctx, nil) // []*streamenc.Message, each opened or marked with Err
//
// A [Channel] acts for one participant, the e3.Client's identity, which
// must be the Stream user it sends as. Server-side, stream-chat-go
// authenticates with the app secret and may act as any user; streamenc
// only ever acts as the identity whose key it holds.
//
// # Sending
//
// [Channel.SendMessage] reads the channel's members from Stream (every
// send, unless ChannelOptions.MembersTTL allows reuse), looks their cards
// up through the e3.Client's cache (FindUsers), and, unless the channel
// uses a group session (see "Group channels" below), seals with e3kit's
// authEncrypt (sign then encrypt, padded; see e3.Client.AuthEncrypt) for
// every member's key and the sender's own, so the sender reads its own
// messages as e3kit users do. Members who rejected an invitation are left
// out; invited members are included. A member without a Virgil card fails
// the send (*e3.UsersNotFoundError) unless
// ChannelOptions.SkipMembersWithoutCard is set. Thread replies (ParentID,
// ShowInChannel), quotes (QuotedMessageID), mentions, silent and pinned
// flags and clear custom fields pass through unchanged.
//
// # Layouts
//
// [LayoutText] (the default) is the seed React app's: the text field holds
// the standard base64 of the authEncrypt ciphertext, which an e3kit client
// decrypts unchanged (e3kit's authDecrypt of the text with the sender's
// card). It always starts with "M" (the ciphertext is a DER SEQUENCE), so
// Stream never takes it for a slash command. [LayoutPushSafe] puts a fixed
// placeholder in the text field, which is what push notifications, email
// digests and Stream's dashboard show, and seals the text in a custom
// field instead; e3kit clients that only decrypt the text field see the
// placeholder.
//
// streamenc also writes the custom field "e3go", a JSON object of strings:
// {"v":"1","layout":"text"|"push","env":"<base64>"}. "env" is a second
// authEncrypt ciphertext (the sealed payload), present in the push-safe
// layout and whenever a message has sealed custom fields
// (ChannelOptions.SensitiveFields) or attachments: a JSON object with the
// message id and channel cid, the SHA-256 of the text ciphertext (text
// layout) or the text itself (push-safe), the sealed fields, and for each
// attachment its name, MIME type, size and the SHA-256 of the uploaded
// ciphertext. Receiving never requires the field: a message without it
// whose text is a ciphertext is opened as an e3kit message (what e3kit
// clients send; a group message in the channel's group, see "Group
// channels"), and anything else is reported as not sealed.
//
// # Opening
//
// Everything that returns messages (Query, GetMessage, GetMessages,
// GetReplies, Search, Open, OpenAll, the webhook handler) opens them: the
// author's card is looked up by the Stream user id (one FindUsers call per
// page, cached), every sealed part is decrypted and verified against it,
// and a sealed payload must name the message's own id and channel and
// match its text and attachments. The messages of a page are opened in
// parallel (ChannelOptions.Concurrency, every core by default). A message
// that cannot be opened never hides the others: its [Message.Err] is an
// [*OpenError] matching [ErrNotSealed], [ErrNotRecipient]
// ([ErrGroupNoAccess] in a group), [ErrTampered], [ErrMalformed] or
// [ErrUnknownSender], which describe the message, or, on a device without
// the participant's private key, e3.ErrNoLocalKey, which describes the
// device (every sealed message fails so until the key is restored); its
// Text, Fields and Attachments stay empty: [Message.Text] only ever holds
// verified plaintext (the clear text of an unsealed message is in
// Message.Raw, for callers who choose to show it as such). Quoted messages
// (Stream's quoted_message) are opened too (Message.Quoted).
//
// A signature is checked against the author's card that was active when
// the message was created (Stream's created_at), or a newer card of the
// same chain (an edit is signed later); a message signed by a key newer
// than the cached card makes the opener look the card up again, at most
// once a minute per author. Edits ([Channel.UpdateMessage]) seal the new
// text and fields again for the current members and keep the attachments
// and thread; deletes ([Channel.DeleteMessage]) pass through and deleted
// messages come back with Message.Deleted set. Every Message also carries
// Stream's clear metadata that a bot usually needs, opened or not:
// Message.ParentID (the thread), Message.Type (regular, reply, system,
// deleted, ...) and Message.EditedAt (when the text was edited); the rest
// is in Message.Raw.
//
// # Attachments
//
// Files given to SendMessage ([File]) are signed and encrypted as they
// stream (e3.Client.AuthEncryptStream, e3kit's authEncryptFile format; in a
// group channel for a one-off key instead, see "Group channels"), uploaded with Stream's file upload under the fixed name "e3go.sealed",
// and attached as {"type":"file","asset_url":…,"e3go":"1"}; their names,
// MIME types and sizes travel only in the sealed payload. On receive,
// [Attachment.Open] downloads the URL Stream gives (an HTTP GET with
// ChannelOptions.HTTPClient; size bounded by ChannelOptions.MaxAttachmentBytes,
// 100 MiB by default; URLs vetted by ChannelOptions.CheckAttachmentURL),
// and returns the plaintext as it verifies: io.EOF only once the whole
// file authenticated against the sender and matched the digest sealed in
// the message. Stream's CDN URLs may expire; fetch a fresh message to get a
// current one.
//
// # Size
//
// Stream limits text to max_message_length characters (5000 by default)
// and a message's custom data to 5 KB, and sealing adds a fixed cost per
// recipient key, so a message may not fit once sealed. It is never
// truncated: SendMessage fails with a [*TooLongError] (matching
// [ErrTooLong]) before anything is uploaded or sent; send long content as
// a file attachment instead. In the text layout with 8-byte key ids (e3kit's
// default) an authEncrypt ciphertext of L plaintext bytes for n keys (the
// members, the sender included) is
//
//	C = 272 + 254·n + 160·(⌊(L+4)/160⌋ + 1) bytes (one byte less for n = 1)
//
// (message info, one 254-byte entry per key, padding to a multiple of 160
// with at least 5 bytes, GCM tag and encrypted signature), its base64 is
// 4·⌈C/3⌉ characters, and it fits 5000 characters when C ≤ 3750. The
// longest text that fits is therefore 3195 bytes for one key, 2875 for
// two, 2555 for three, 160 fewer for each further key up to 155 bytes for
// thirteen; with fourteen keys or more nothing fits (the tests check each
// boundary). UTF-8 text counts in bytes. With SHA-256 key ids
// (UseSHA256Identifiers) each key costs 279 bytes and the fixed part 296.
// The push-safe layout and sealed extras are bound by the 5 KB of custom
// data instead, which the sealed payload (the text as JSON plus about 100
// bytes) and every clear custom field share: about 2,800 bytes of text for
// two keys. Per-recipient sealing is e3kit's authEncrypt model and suits
// small care teams; larger channels need a group session, whose sizes do
// not depend on the members (see "Group channels").
//
// # Group channels
//
// A channel opts in to a group session (e3kit's groups, see e3's package
// documentation) with its custom field "e3go_group" ([GroupFieldKey]), a
// JSON object of strings {"v":"1","initiator":"<identity>","epoch":"<n>"}
// that every member's client reads with the channel's data. Each message
// is then encrypted once, with the group's current epoch key, and signed
// by its sender: a message to a 50-member care team costs one AES-GCM and
// one Ed25519 signature and is as long as one to two members would get,
// instead of one key agreement and 254 bytes per member. [Channel.EnableGroup], called
// by the initiator, creates the group for the channel's members and sets
// the field; from then on every Channel with the default
// ChannelOptions.Sealing (SealAuto), which reads the field before each
// send, seals in the group, and every Channel opens group messages.
// SealPerRecipient ignores the field; SealGroup insists on a group.
//
// The group's id is [GroupID]: "e3go:" + cid + ":" + initiator (at least
// e3kit's 10 bytes for any channel). The initiator is the only participant
// who can change the group's members (an e3kit rule: the epoch tickets
// live in its Keyknox space), so it should be an identity that stays,
// typically the server-side bot that creates the channels; pin it with
// ChannelOptions.GroupInitiator so that a field rewritten by Stream or by a
// member allowed to update the channel cannot redirect sends to another
// identity's group. Membership changes reach the group through the
// initiator: [Channel.SyncGroup] adds the channel's new members (who then
// read the group's whole history, as e3kit's add shares every epoch) and
// removes those who left (a new epoch they cannot read; the initiator
// rewrites the field's epoch). The initiator's own sends sync first (the
// member list they read anyway makes this free when nothing changed), and
// it should also sync on Stream's member.added and member.removed
// webhooks. Until it has:
//
//   - a member added to the Stream channel sees every group message as
//     [ErrGroupNoAccess] (which also matches ErrNotRecipient), one message
//     at a time, never hiding the others, and its sends fail with it;
//   - a removed member can still read messages sent in the old epoch, if
//     Stream still gives them to it. Other senders fetch the group again
//     (Group.Update) when the field announces a newer epoch, and every
//     ChannelOptions.GroupUpdateInterval (5 minutes) anyway.
//
// Opening a group message: the group comes from this device
// (e3.Client.GetGroup, no request) or the initiator's cloud (LoadGroup, once
// per page); a message from an epoch the device does not hold makes it
// fetch the group again (Update) and decrypt once more, and what still
// fails is that message's ErrGroupNoAccess. A removed member's Update
// deletes the group from its device, as e3kit does, so it loses the
// group's history there too. Per-recipient messages from before the
// opt-in, or from clients that seal per recipient, open as before: a page
// may mix both. [Message.GroupID] says which group a message was sealed
// in.
//
// Group messages use the marker {"v":"2","layout":"text"|"push",
// "group":"<initiator>","env":…}; version 1 readers report them as
// ErrUnsupportedVersion. In the text layout the text field is the standard
// base64 of e3kit's group.encrypt output (it starts with "CAAa"); the
// push-safe layout, sensitive fields and attachment descriptions go in
// "env", a group message too. Attachments are encrypted (virgil-crypto's
// encrypt format) for a fresh one-off key pair whose private key travels
// in the sealed payload with the SHA-256 of the upload: whoever can open
// the message can open the file, for one key agreement per file, and the
// digest, signed with the payload, authenticates it. (Sealing files per
// recipient instead would need every member's card at every send and
// leave later members unable to open files whose message they read.)
//
// An e3kit-js client (the seed's React app) reads and writes group
// messages so:
//
//	const cid = channel.cid, initiator = channel.data.e3go_group.initiator;
//	const groupId = `e3go:${cid}:${initiator}`;
//	const group = (await eThree.getGroup(groupId)) ??
//	  (await eThree.loadGroup(groupId, await eThree.findUsers(initiator)));
//	// read: the sender's card verifies the signature
//	const sender = await eThree.findUsers(message.user.id);
//	let text;
//	try { text = await group.decrypt(message.text, sender, new Date(message.created_at)); }
//	catch (e) { // GroupError GroupIsOutdated: a removal happened
//	  await group.update(); text = await group.decrypt(message.text, sender, new Date(message.created_at)); }
//	// write
//	await channel.sendMessage({ text: await group.encrypt(plaintext),
//	  e3go: { v: "2", layout: "text", group: initiator } });
//
// A Channel also opens a group message posted without the marker (its
// text is recognised by its first bytes and opened in the channel's
// group), but the webhook handler, which does not read channel data,
// needs the marker. The push-safe layout's "env" is group.decrypt of its
// base64 to the JSON payload described above, with each attachment's
// "key" (base64 PKCS#8, virgil-crypto's importPrivateKey) decrypting the
// downloaded file (virgil-crypto's decrypt) once its SHA-256 matched.
//
// Sizes in the text layout: a group message of L bytes of text is
//
//	C = 162 + 160·(⌊(L+4)/160⌋ + 1) bytes
//
// (one more once the group has 128 epochs, two from 16384), whatever the
// number of members: 482 bytes for 200 bytes of text. It fits Stream's
// 5000 characters of base64 when C ≤ 3750, so the longest text is 3515
// bytes (C = 3682, 4912 characters), for any number of members and any
// epoch (the tests check the boundary at epoch 0); beyond,
// SendMessage fails with a *TooLongError whose Group is set. In the
// push-safe layout the payload (the text as JSON plus 70 bytes and the
// cid) is sealed the same way, at most 4912 characters, into the 5120
// bytes of custom data, whose JSON also holds 54 bytes of marker, the
// initiator's name and the clear custom fields: while those two take 154
// bytes or less, the longest text is 3445 bytes minus the cid's length
// (JSON escaping counted). Groups hold 100 participants, e3kit's limit,
// or up to 1000 with ChannelOptions.GroupMaxParticipants for channels
// whose members all use e3go.
//
// # Webhooks
//
// [NewWebhookHandler] returns an http.Handler for Stream's webhooks, which
// is how a server-side participant (a bot) receives messages: it verifies
// X-Signature in constant time, bounds the body, refuses malformed and
// replayed events, opens message.new and message.updated for the bot's
// identity and hands every event to a callback (see NewWebhookHandler for
// the exact rules and the limits of the replay protection).
// [Event.Channel] gives the event's channel to reply in; NewWebhookHandler
// shows a reply that Stream's redeliveries cannot send twice.
//
// # What Stream still sees
//
// Sealing hides the content of the text, the sensitive custom fields and
// the attachments (their bytes, names and types). Stream, and anyone with
// access to the app's Stream data, webhooks or before-message-send hook,
// still sees:
//
//   - who is in which channel, who wrote each message and when (user ids,
//     timestamps, edits, deletes, read state, typing events), and the
//     channel names and custom data;
//   - the size of each message, rounded up to 160 bytes by the padding,
//     and the number of keys it was sealed for (one entry per recipient,
//     each naming the recipient's key id, so anyone who has fetched the
//     members' public cards can tell exactly who a message was sealed
//     for); the sealed payload's size likewise; for a group message
//     instead, the group (its ciphertext names SHA-512 of the group id),
//     the epoch, and from the "e3go_group" field the initiator (Virgil,
//     which keeps the epoch tickets, sees the participants);
//   - each attachment's size (within the same 160-byte rounding) and that
//     there are attachments;
//   - thread and quote structure, mentions, pins, silent flags, reactions
//     (their types, and custom reaction data), clear custom fields and the
//     layout marker;
//   - in the push-safe layout, the placeholder.
//
// And what the format does not prevent, since Stream stores the messages:
// Stream can withhold, delete or reorder messages, and can replay or copy
// a text-layout message without a sealed payload into another thread or
// channel whose members it was sealed for (e3kit's format has no room for
// context; messages with a sealed payload are bound to their id and
// channel, and a copy fails with ErrTampered, so for them Stream can at
// most restore an earlier version of the same message, whole). It can
// strip the "e3go" field (and the attachments) from a text-layout
// message, which then opens as a plain e3kit message without its sealed
// fields. Server-side stream-chat-go calls can
// send as any user, but cannot sign as one: a message whose signature is
// not its stated author's fails with ErrTampered.
//
// # Concurrency
//
// Channel and WebhookHandler are safe for concurrent use; a Channel keeps
// its own copy of the stream.Channel (whose Query overwrites it), and the
// e3.Client's card cache is shared by everything using that client.
package streamenc
