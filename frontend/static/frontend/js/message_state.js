// Of two states of one message, which the page keeps (docs/chat.md, "Order of changes"). Every
// change of a message after it was posted raises its `version` by one, under its row lock; frames of
// one message published by two processes may still reach a socket in the other order, so a page
// never lets an older state overwrite a newer one. A whole message (`message.updated`, a sync, a pin)
// carries `version`; a `message.reactions` frame carries the version of its reactions, which the page
// keeps as `reactions_version`; a thread's count only grows (`thread.updated` carries no version).

const reactionsVersion = (m) => Math.max(m.version || 0, m.reactions_version || 0);

/** The state to show when `incoming` (a whole message) arrives for `current`; null: ignore it. */
export function merged(current, incoming) {
  if (!current) return incoming;
  if ((incoming.version || 0) < (current.version || 0)) return null;
  const next = {...incoming};
  if (reactionsVersion(current) > reactionsVersion(incoming)) {
    next.reactions = current.reactions;
    next.reactions_version = current.reactions_version;
  }
  if ((current.reply_count || 0) > (incoming.reply_count || 0)) {
    next.reply_count = current.reply_count;
    next.last_reply_at = current.last_reply_at;
  }
  return next;
}

/** `current` with the reactions of `state` ({reactions, version}: a frame or the toggle's answer);
 * null when what the page shows is as new or newer. */
export function withReactions(current, state) {
  if (typeof state.version === "number" && reactionsVersion(current) >= state.version) return null;
  return {...current, reactions: state.reactions, reactions_version: state.version};
}
