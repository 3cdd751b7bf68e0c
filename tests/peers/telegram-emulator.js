// Runs telegram-test-api, an emulator of the Telegram Bot API written by others,
// on a free loopback port for feeder's tests, and prints that port on stdout.
//
// The emulator itself answers sendMessage, editMessageText and deleteMessage and
// keeps what a chat holds, which the tests read back through its client routes
// (/getUpdatesHistory). What it cannot do is added here, in front of it, through
// its public parts (its Express app and its storage), never by answering a Bot
// API call the emulator answers:
// - editMessageText: Telegram's two refusals the emulator lacks (it answers ok to
//   anything): "message to edit not found" and "message is not modified";
// - POST /_faults: a test scripts an answer Telegram gives and the emulator never
//   does (429 flood control, 401, 403, a 48-hour delete refusal, a 5xx, silence),
//   for one bot token and optionally one method, chat and message, `times` times.
'use strict';

const http = require('http');
const path = require('path');
const TelegramServer = require('telegram-test-api');
// The emulator's own Express, so the front speaks exactly as the emulator does.
const express = require(require.resolve('express', {
  paths: [path.dirname(require.resolve('telegram-test-api'))],
}));

// Never started: the listener below replaces its own, which takes a fixed port and
// forgets a chat's messages after a minute.
const emulator = new TelegramServer({ host: '127.0.0.1' });
const faults = [];

const front = express();
front.use(express.json());
front.use(express.urlencoded({ extended: true }));

front.post('/_faults', (req, res) => {
  faults.push(req.body);
  res.json({ ok: true });
});

front.post('/_faults/clear', (req, res) => {
  faults.splice(0, faults.length, ...faults.filter((fault) => fault.token !== req.body.token));
  res.json({ ok: true });
});

const same = (wanted, given) => wanted === undefined || String(wanted) === String(given);

front.all('/bot:token/:method', (req, res, next) => {
  const { token, method } = req.params;
  const call = { ...req.query, ...req.body };
  const fault = faults.find((candidate) => candidate.token === token
    && same(candidate.method, method)
    && same(candidate.chat_id, call.chat_id)
    && same(candidate.message_id, call.message_id));
  if (fault) {
    if (fault.times !== undefined && (fault.times -= 1) <= 0) {
      faults.splice(faults.indexOf(fault), 1);
    }
    setTimeout(() => {
      if (typeof fault.body === 'string') {
        res.status(fault.status).type('html').send(fault.body);
      } else {
        res.status(fault.status).json(fault.body);
      }
    }, fault.delay_ms || 0);
    return;
  }
  if (method === 'editMessageText') {
    const stored = emulator.storage.botMessages.find((update) => (
      String(update.messageId) === String(call.message_id)
      && String(update.message.chat_id) === String(call.chat_id)));
    let refusal = null;
    if (!stored) {
      refusal = 'Bad Request: message to edit not found';
    } else if (stored.message.text === call.text && stored.message.parse_mode === call.parse_mode) {
      refusal = 'Bad Request: message is not modified: specified new message content and'
        + ' reply markup are exactly the same as a current content and reply markup of the message';
    }
    if (refusal) {
      res.status(400).json({ ok: false, error_code: 400, description: refusal });
      return;
    }
  }
  next();
});

// The emulator's app, with all its routes, answers everything else.
front.use(emulator.webServer);

const listener = http.createServer(front);
listener.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${listener.address().port}\n`);
});
