// Every module that adds message actions, parts or frame handlers (message_actions.js). One import
// per feature: the topic page imports this file once, before it renders a message.

import "./basic.js";
import "./promote.js";
import "./receipts.js";
import "./reactions.js";
import "./threads.js";
import "./pins.js";
