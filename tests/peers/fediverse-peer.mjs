// An ActivityPub server written by others (Fedify), as the follower's server in feeder's
// tests: one account, alice, whose own Fedify code resolves feeder's accounts by
// WebFinger, follows them, and checks the signature of everything feeder delivers.
// A small control API (/control/...) lets the test say what alice does and read what
// her inbox received. Usage: node fediverse-peer.js PORT (0: any; prints "listening PORT").
import http from "node:http";
import {
  Accept, Create, Delete, Endpoints, Follow, MemoryKvStore, Person, Undo, Update,
  createFederation, generateCryptoKeyPair,
} from "@fedify/fedify";

// Fedify asks WebFinger for acct: handles over https only; feeder's test server speaks
// plain http on loopback, so that one scheme is changed and nothing else.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.startsWith("https://127.0.0.1:") && url.includes("/.well-known/webfinger")) {
    const plain = "http://" + url.slice("https://".length);
    return realFetch(input instanceof Request ? new Request(plain, input) : plain, init);
  }
  return realFetch(input, init);
};

const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
let keyPair = null;
const events = [];
const follows = new Map();

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "alice") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async () => {
    keyPair ??= await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
    return [keyPair];
  });

const record = (type) => async (ctx, activity) => {
  const object = activity.objectId ? await activity.getObject().catch(() => null) : null;
  events.push({
    type,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? null,
    objectType: object?.constructor?.name ?? null,
    name: object?.name?.toString() ?? null,
    url: object?.url?.href ?? null,
  });
};
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record("Accept"))
  .on(Create, record("Create"))
  .on(Update, record("Update"))
  .on(Delete, record("Delete"));

async function control(url, origin) {
  const ctx = federation.createContext(new URL(origin), undefined);
  const handle = url.searchParams.get("handle");
  if (url.pathname === "/control/events") return events;
  const target = await ctx.lookupObject(handle);
  if (target === null) throw new Error(`${handle} did not resolve`);
  const me = ctx.getActorUri("alice");
  if (url.pathname === "/control/follow") {
    const follow = new Follow({ id: new URL(`${origin}/follows/${follows.size + 1}`), actor: me, object: target.id });
    follows.set(target.id.href, follow);
    await ctx.sendActivity({ identifier: "alice" }, target, follow);
    return { actor: target.id.href, inbox: target.inboxId?.href };
  }
  if (url.pathname === "/control/unfollow") {
    const follow = follows.get(target.id.href);
    await ctx.sendActivity({ identifier: "alice" }, target,
      new Undo({ id: new URL(`${origin}/undo/${follows.size}`), actor: me, object: follow }));
    return { actor: target.id.href };
  }
  throw new Error(`unknown ${url.pathname}`);
}

const server = http.createServer(async (req, res) => {
  const origin = `http://${req.headers.host}`;
  const url = new URL(req.url, origin);
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    if (url.pathname.startsWith("/control/")) {
      const answer = await control(url, origin);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) headers.set(name, String(value));
    const body = ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks);
    const response = await federation.fetch(new Request(url, { method: req.method, headers, body }), {
      contextData: undefined,
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error?.stack ?? error));
  }
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
