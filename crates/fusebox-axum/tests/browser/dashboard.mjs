// Checks the admin dashboard in a real browser, over the Chrome DevTools protocol, with no
// npm packages: Node 20 needs `--experimental-websocket` (Node 22+ has WebSocket built in).
//
//   cargo run -p fusebox-axum --example admin_dashboard        # with FUSEBOX_ADMIN_PORT=18088
//   chromium --headless --no-sandbox --disable-gpu --user-data-dir="$(mktemp -d)" \
//       --remote-debugging-port=19222 about:blank &
//   node --experimental-websocket tests/browser/dashboard.mjs 19222 \
//       "http://127.0.0.1:18088/admin?token=fusebox-demo-token"
//
// `.ci/browser` does all of this.
//
// Passes (exit 0) when, in one browser profile:
// 1. the page shows the example's seven circuits in their states, with no Content-Security-
//    Policy violation (its script and style load from the router, nothing inline);
// 2. a page served by this script on another port of 127.0.0.1 (same site, another origin),
//    opened after the dashboard signed in, cannot change a circuit: its auto-submitted POST
//    form to `force-open` is answered 403 `cross_origin` (so the browser did send the session
//    cookie) and its no-cors `fetch` changes nothing either;
// 3. pressing "force open" on `search` in the dashboard turns its card `forced_open`.
// Prints what it saw. Everything is bounded in time; the attacker's server stops with it.
//
// With DASHBOARD_SCREENSHOT=<file.png>, also saves a picture of the dashboard at the end.
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";

const [port, url] = process.argv.slice(2);
if (!port || !url) {
  console.error("usage: dashboard.mjs <devtools port> <dashboard url with ?token=>");
  process.exit(2);
}
setTimeout(() => {
  console.error("timed out after 30 s");
  process.exit(1);
}, 30_000).unref();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const dashboard = new URL(url);
const token = dashboard.searchParams.get("token");
// The router's root, where `circuits/...` lives: the page's address without the query.
const root = new URL(dashboard.pathname.replace(/\/?$/, "/"), dashboard);

// The other origin: same host, another port.
const attacks = {
  "/form": `<!doctype html><title>form</title>
    <form method="post" action="${new URL("circuits/inventory/force-open", root)}"></form>
    <script>document.forms[0].submit()</script>`,
  "/fetch": `<!doctype html><title>fetch</title>
    <script>
      fetch(${JSON.stringify(new URL("circuits/recommendations/reset", root))},
        { method: "POST", mode: "no-cors", credentials: "include" })
        .then(() => { document.title = "sent"; }, () => { document.title = "failed"; });
    </script>`,
};
const attacker = createServer((request, response) => {
  const page = attacks[request.url];
  response.writeHead(page ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
  response.end(page ?? "");
});
await new Promise((resolve) => attacker.listen(0, "127.0.0.1", resolve));
const evil = `http://127.0.0.1:${attacker.address().port}`;

let version;
for (let attempt = 0; !version; attempt++) {
  try {
    version = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
  } catch (error) {
    if (attempt === 50) throw error;
    await sleep(100);
  }
}
const socket = new WebSocket(version.webSocketDebuggerUrl);
await new Promise((resolve) => socket.addEventListener("open", resolve));
let lastId = 0;
const pending = new Map();
socket.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  pending.get(message.id)?.(message);
  pending.delete(message.id);
});
const send = (method, params = {}, sessionId) =>
  new Promise((resolve) => {
    const id = ++lastId;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params, sessionId }));
  });

/// A new tab; `before` runs in every document it loads, before the page's own scripts.
const open = async (address, before) => {
  const { result: { targetId } } = await send("Target.createTarget", { url: "about:blank" });
  const { result: { sessionId } } = await send("Target.attachToTarget", { targetId, flatten: true });
  await send("Page.enable", {}, sessionId);
  if (before) await send("Page.addScriptToEvaluateOnNewDocument", { source: before }, sessionId);
  await send("Page.navigate", { url: address }, sessionId);
  const evaluate = async (expression) =>
    (await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)).result.result?.value;
  evaluate.screenshot = async () =>
    Buffer.from((await send("Page.captureScreenshot", { format: "png" }, sessionId)).result.data, "base64");
  return evaluate;
};
/// Polls `read` every 100 ms until `check` accepts its value, for at most 5 s.
const until = async (read, check) => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const value = await read();
    if (check(value)) return value;
    await sleep(100);
  }
  return read();
};

// 1. The dashboard, signed in through `?token=`, recording any CSP violation.
const page = await open(
  url,
  `window.__violations = [];
   document.addEventListener("securitypolicyviolation",
     (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));`,
);
const cards = () =>
  page(`Object.fromEntries([...document.querySelectorAll("#circuits [data-circuit]")]
    .map((card) => [card.dataset.circuit, card.dataset.state]))`);
const expected = {
  emails: "metrics_only",
  inventory: "closed",
  ledger: "forced_open",
  payments: "open",
  recommendations: "disabled",
  search: "closed",
  shipping: "half_open",
};
const before = await until(cards, (seen) => Object.keys(seen ?? {}).length === 7);

// 2. The other origin's pages, in the same browser profile (so with the session cookie).
const form = await open(`${evil}/form`);
const formLanding = await until(
  () => form(`({ url: location.href, body: document.body?.innerText ?? "" })`),
  (seen) => seen?.url?.startsWith(root.origin),
);
const fetchPage = await open(`${evil}/fetch`);
const fetchTitle = await until(() => fetchPage("document.title"), (title) => title !== "fetch");
// The states after the attacks, from the API itself (the dashboard may not have refreshed).
const api = async () =>
  Object.fromEntries(
    (await (await fetch(new URL("circuits", root), { headers: { Authorization: `Bearer ${token}` } })).json())
      .map((circuit) => [circuit.name, circuit.state]),
  );
const afterAttack = await api();

// 3. The dashboard's own button.
await page(`document.querySelector('[data-circuit="search"] button[data-command="force-open"]').click()`);
const after = await until(cards, (seen) => seen?.search === "forced_open");
const status = await page(`document.getElementById("status").textContent`);
const violations = await page("window.__violations");
if (process.env.DASHBOARD_SCREENSHOT) await writeFile(process.env.DASHBOARD_SCREENSHOT, await page.screenshot());

console.log(JSON.stringify({ before, evil, formLanding, fetchTitle, afterAttack, after, status, violations }, null, 1));
socket.close();
attacker.close();

const failures = [];
if (JSON.stringify(before) !== JSON.stringify(expected)) failures.push("the dashboard did not show the seven circuits");
if (!formLanding?.body?.includes('"error":"cross_origin"')) failures.push("the other origin's form was not refused with 403 cross_origin");
if (fetchTitle !== "sent") failures.push("the other origin's fetch did not run");
if (JSON.stringify(afterAttack) !== JSON.stringify(expected)) failures.push("the other origin changed a circuit");
if (after?.search !== "forced_open") failures.push("the dashboard's force open button did not work");
if (!Array.isArray(violations) || violations.length > 0) failures.push("Content-Security-Policy violations");
for (const failure of failures) console.error(`FAILED: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
