// Checks the admin dashboard in a real browser, over the Chrome DevTools protocol, with no
// npm packages: Node 20 needs `--experimental-websocket` (Node 22+ has WebSocket built in).
//
//   cargo run -p fusebox-axum --example admin_dashboard        # with FUSEBOX_ADMIN_PORT=18088
//   chromium --headless --no-sandbox --disable-gpu --user-data-dir="$(mktemp -d)" \
//       --remote-debugging-port=19222 about:blank &
//   node --experimental-websocket tests/browser/dashboard.mjs 19222 \
//       "http://127.0.0.1:18088/?token=fusebox-demo-token"
//
// Passes (exit 0) when the page shows the example's seven circuits in their states and
// pressing "force open" on `search` turns its card `forced_open`; prints what it saw.
const [port, url] = process.argv.slice(2);
if (!port || !url) {
  console.error("usage: dashboard.mjs <devtools port> <dashboard url with ?token=>");
  process.exit(2);
}
setTimeout(() => {
  console.error("timed out after 20 s");
  process.exit(1);
}, 20_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

const { result: { targetId } } = await send("Target.createTarget", { url });
const { result: { sessionId } } = await send("Target.attachToTarget", { targetId, flatten: true });
const evaluate = async (expression) =>
  (await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)).result.result.value;
const cards = () =>
  evaluate(`Object.fromEntries([...document.querySelectorAll("#circuits [data-circuit]")]
    .map((card) => [card.dataset.circuit, card.dataset.state]))`);
const until = async (check) => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const value = await cards();
    if (check(value)) return value;
    await sleep(100);
  }
  return cards();
};

const expected = {
  emails: "metrics_only",
  inventory: "closed",
  ledger: "forced_open",
  payments: "open",
  recommendations: "disabled",
  search: "closed",
  shipping: "half_open",
};
const before = await until((seen) => Object.keys(seen).length === 7);
await evaluate(`document.querySelector('[data-circuit="search"] button[data-command="force-open"]').click()`);
const after = await until((seen) => seen.search === "forced_open");
const status = await evaluate(`document.getElementById("status").textContent`);
console.log(JSON.stringify({ before, after, status }));
socket.close();
const shown = JSON.stringify(before) === JSON.stringify(expected);
process.exit(shown && after.search === "forced_open" ? 0 : 1);
