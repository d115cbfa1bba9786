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
// Passes (exit 0) when:
// 1. a browser without a session (a fresh profile) opening the page gets the sign-in page,
//    styled, saying how to sign in (`/admin?token=<admin token>`); with a wrong token, a
//    page that says the token is wrong;
// 2. signed in through `?token=`, the page shows the example's ten circuits in their states
//    at `/admin` and at `/admin/`, with no Content-Security-Policy violation (its script and
//    style load from the router, nothing inline);
// 3. each card shows its history (`payments`: "tripped: min_requests(20) &
//    failure_rate(0.5), failure rate 50%"; `shipping`: three transitions and four older), a
//    sparkline with a bar per sampled point, and only the buttons that fit its state (no
//    "force open" on the forced-open `ledger`, no "reset" on a closed circuit); `checkout`
//    is listed as not used yet;
// 4. a page served by this script on another port of 127.0.0.1 (same site, another origin),
//    opened after the dashboard signed in, cannot change a circuit: its auto-submitted POST
//    form to `force-open` is answered 403 `cross_origin` (so the browser did send the session
//    cookie) and its no-cors `fetch` changes nothing either;
// 5. "force open" on `search` asks first: cancelling changes nothing; confirming turns the
//    card `forced_open`, says so on the card, and swaps "force open" for "reset";
// 6. at 1400 px and at 400 px, nothing is wider than the page, every name stays in its card,
//    no button label breaks over two lines, and the cards of a row are equally tall.
// Prints what it saw. Everything is bounded in time; the attacker's server stops with it.
//
// Saves full-page screenshots at 1400 px and 400 px, and one of the sign-in page, into
// DASHBOARD_SCREENSHOTS (default: target/browser), and prints their paths.
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join, resolve } from "node:path";

const [port, url] = process.argv.slice(2);
if (!port || !url) {
  console.error("usage: dashboard.mjs <devtools port> <dashboard url with ?token=>");
  process.exit(2);
}
setTimeout(() => {
  console.error("timed out after 45 s");
  process.exit(1);
}, 45_000).unref();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const shots = resolve(process.env.DASHBOARD_SCREENSHOTS || "target/browser");
await mkdir(shots, { recursive: true });

const dashboard = new URL(url);
const token = dashboard.searchParams.get("token");
// The router's root, where `circuits/...` lives: the page's address without the query.
const root = new URL(dashboard.pathname.replace(/\/?$/, "/"), dashboard);
const pageWithoutToken = new URL(dashboard.pathname, dashboard).href;

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

// Records Content-Security-Policy violations, in every document of a tab.
const watchViolations = `window.__violations = [];
  document.addEventListener("securitypolicyviolation",
    (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));`;

/// A new tab, in `context` (a browser context of its own: no cookies) or the default one;
/// `before` runs in every document it loads, before the page's own scripts.
const open = async (address, { before, context } = {}) => {
  const { result: { targetId } } = await send("Target.createTarget", {
    url: "about:blank",
    ...(context ? { browserContextId: context } : {}),
  });
  const { result: { sessionId } } = await send("Target.attachToTarget", { targetId, flatten: true });
  await send("Page.enable", {}, sessionId);
  if (before) await send("Page.addScriptToEvaluateOnNewDocument", { source: before }, sessionId);
  await send("Page.navigate", { url: address }, sessionId);
  const evaluate = async (expression) =>
    (await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId)).result.result
      ?.value;
  evaluate.navigate = (to) => send("Page.navigate", { url: to }, sessionId);
  evaluate.resize = (width) =>
    send("Emulation.setDeviceMetricsOverride", { width, height: 900, deviceScaleFactor: 1, mobile: width < 600 }, sessionId);
  /// A picture of the whole page, not only the viewport.
  evaluate.screenshot = async (file) => {
    const { result: { cssContentSize: size } } = await send("Page.getLayoutMetrics", {}, sessionId);
    const clip = { x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height), scale: 1 };
    const shot = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true, clip }, sessionId);
    const path = join(shots, file);
    await writeFile(path, Buffer.from(shot.result.data, "base64"));
    return path;
  };
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
const failures = [];
const expect = (ok, failure) => {
  if (!ok) failures.push(failure);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// 1. The sign-in page, in a browser context without the session cookie.
const { result: { browserContextId: stranger } } = await send("Target.createBrowserContext");
const signIn = await open(pageWithoutToken, { before: watchViolations, context: stranger });
const readSignIn = () =>
  signIn(`(() => {
    const main = document.querySelector("main[data-sign-in]");
    return main && {
      reason: main.dataset.signIn,
      heading: document.querySelector("h1").textContent,
      address: document.querySelector(".address").textContent,
      styled: getComputedStyle(main).maxWidth !== "none",
      violations: window.__violations,
    };
  })()`);
const signedOut = await until(readSignIn, (seen) => seen?.styled);
await signIn.resize(400);
const signInShot = await signIn.screenshot("sign-in-400.png");
await signIn.navigate(`${pageWithoutToken}?token=not-the-admin-token-at-all`);
const wrongToken = await until(readSignIn, (seen) => seen?.reason === "wrong-token");
expect(
  signedOut?.reason === "signed-out" &&
    signedOut.heading === "Sign in to the fusebox dashboard" &&
    signedOut.address === `${dashboard.pathname}?token=<admin token>` &&
    signedOut.styled &&
    signedOut.violations.length === 0,
  "a browser without a session did not get the styled sign-in page",
);
expect(wrongToken?.reason === "wrong-token", "a wrong token did not get the wrong-token sign-in page");

// 2. The dashboard, signed in through `?token=`, at `/admin` and at `/admin/`.
const page = await open(url, { before: watchViolations });
await page.resize(1400);
const longRoute = "GET /api/v2/organizations/{organization_id}/repositories/{repository_id}/pull_requests";
const expected = {
  [longRoute]: "closed",
  "POST /checkout": "closed",
  emails: "metrics_only",
  inventory: "closed",
  "inventory-service.eu-central-1.internal.example.com:8443": "closed",
  ledger: "forced_open",
  payments: "open",
  recommendations: "disabled",
  search: "closed",
  shipping: "half_open",
};
const cards = (tab) =>
  tab(`Object.fromEntries([...document.querySelectorAll("#circuits [data-circuit]")]
    .map((card) => [card.dataset.circuit, card.dataset.state]))`);
const before = await until(() => cards(page), (seen) => Object.keys(seen ?? {}).length === 10);
const slash = await open(root.href, { before: watchViolations });
const withSlash = await until(() => cards(slash), (seen) => Object.keys(seen ?? {}).length === 10);
expect(same(before, expected), "the dashboard did not show the ten circuits");
expect(same(withSlash, expected), "the dashboard at the address with a trailing slash did not show the ten circuits");

// 3. History, sparklines, buttons and unused policies, as the cards show them.
const seen = await page(`(() => {
  const card = (name) => document.querySelector(\`[data-circuit="\${CSS.escape(name)}"]\`);
  const visible = (node) => !node.hidden && node.getClientRects().length > 0;
  const history = (name) => [...card(name).querySelectorAll(".history > .transitions > li")]
    .map((item) => ({ cause: item.dataset.cause, move: item.querySelector(".move").textContent,
      summary: item.querySelector(".summary").textContent }));
  return {
    payments: history("payments"),
    shipping: history("shipping"),
    shippingOlder: card("shipping").querySelector(".older summary").textContent,
    searchHistory: card("search").querySelector(".no-history").textContent,
    bars: Object.fromEntries(["payments", "search", "ledger"].map((name) =>
      [name, Number(card(name).querySelector(".spark").dataset.bars)])),
    peak: card("payments").querySelector(".spark-peak").textContent,
    buttons: Object.fromEntries([...document.querySelectorAll("#circuits [data-circuit]")].map((item) =>
      [item.dataset.circuit, [...item.querySelectorAll(".commands button")].filter(visible)
        .map((button) => button.dataset.command)])),
    unused: [...document.querySelectorAll("#unused li[data-unused]")]
      .map((item) => item.dataset.unused + ": " + item.querySelector(".pill").textContent),
    unusedShown: visible(document.getElementById("unused")),
  };
})()`);
const all = ["reset", "force-open", "disable", "metrics-only"];
const without = (command) => all.filter((other) => other !== command);
const buttons = {
  [longRoute]: without("reset"),
  "POST /checkout": without("reset"),
  emails: without("metrics-only"),
  inventory: without("reset"),
  "inventory-service.eu-central-1.internal.example.com:8443": without("reset"),
  ledger: without("force-open"),
  payments: all,
  recommendations: without("disable"),
  search: without("reset"),
  shipping: all,
};
expect(
  same(seen?.payments, [
    {
      cause: "tripped",
      move: "closed → open",
      summary: "tripped: min_requests(20) & failure_rate(0.5), failure rate 50%",
    },
  ]),
  "the payments card did not show its trip with the rule and the failure rate",
);
expect(
  same(seen?.shipping?.map((item) => item.cause), ["probe", "reopened", "probe"]) && seen?.shippingOlder === "4 older",
  "the shipping card did not show three transitions and four older",
);
expect(seen?.searchHistory === "none since this process started", "a card without transitions did not say so");
expect(seen?.bars?.payments >= 30 && seen?.bars?.search >= 39 && seen?.bars?.ledger >= 30, "the sparklines lack bars");
expect(seen?.peak === "peak 50 %", "the payments sparkline did not show its peak of 50 %");
expect(same(seen?.buttons, buttons), "the buttons do not fit the states");
expect(same(seen?.unused, ["checkout: not used yet"]) && seen?.unusedShown, "checkout was not listed as not used yet");

// 4. The other origin's pages, in the same browser profile (so with the session cookie).
const form = await open(`${evil}/form`);
const formLanding = await until(
  () => form(`({ url: location.href, body: document.body?.innerText ?? "" })`),
  (seen) => seen?.url?.startsWith(root.origin),
);
const fetchPage = await open(`${evil}/fetch`);
// Until the fetch settled: before the page loads, the title is still empty or "fetch".
const fetchTitle = await until(
  () => fetchPage("document.title"),
  (title) => title === "sent" || title === "failed",
);
// The states after the attacks, from the API itself (the dashboard may not have refreshed).
const api = async () =>
  Object.fromEntries(
    (await (await fetch(new URL("circuits", root), { headers: { Authorization: `Bearer ${token}` } })).json())
      .map((circuit) => [circuit.name, circuit.state]),
  );
const afterAttack = await api();
expect(formLanding?.body?.includes('"error":"cross_origin"'), "the other origin's form was not refused with 403 cross_origin");
expect(fetchTitle === "sent", "the other origin's fetch did not run");
expect(same(afterAttack, expected), "the other origin changed a circuit");

// 5. "force open" on `search`: asked, cancelled, asked again, confirmed.
const search = `document.querySelector('[data-circuit="search"]')`;
const confirmState = () =>
  page(`({
    open: !${search}.querySelector(".confirm").hidden,
    text: ${search}.querySelector(".confirm-text").textContent,
    yes: ${search}.querySelector("[data-confirm]").textContent,
    feedback: ${search}.querySelector(".feedback").hidden ? null : ${search}.querySelector(".feedback").textContent,
  })`);
await page(`${search}.querySelector('button[data-command="force-open"]').click()`);
const asked = await until(confirmState, (seen) => seen?.open);
const confirmShot = await page.screenshot("dashboard-confirm-1400.png");
await sleep(300);
const whileAsking = (await api()).search;
await page(`${search}.querySelector("[data-cancel]").click()`);
const cancelled = await confirmState();
const afterCancel = (await api()).search;
await page(`${search}.querySelector('button[data-command="force-open"]').click()`);
await until(confirmState, (seen) => seen?.open);
await page(`${search}.querySelector("[data-confirm]").click()`);
const after = await until(() => cards(page), (seen) => seen?.search === "forced_open");
const confirmed = await until(confirmState, (seen) => seen?.feedback?.startsWith("force open: now forced open"));
const searchButtons = await page(`[...${search}.querySelectorAll(".commands button")].filter((b) => !b.hidden).map((b) => b.dataset.command)`);
expect(
  asked?.open && asked.text === "Force search open? It rejects every call until someone resets it." && asked.yes === "yes, force open",
  "force open did not ask first",
);
expect(whileAsking === "closed", "asking changed the circuit");
expect(!cancelled?.open && cancelled?.feedback === "cancelled: nothing changed" && afterCancel === "closed", "cancelling did not leave the circuit alone");
expect(after?.search === "forced_open" && confirmed?.feedback?.startsWith("force open: now forced open"), "confirming did not force the circuit open and say so");
expect(same(searchButtons, without("force-open")), "the forced-open card still offers force open");

// 6. Layout at both widths, and the screenshots.
const layout = () =>
  page(`(() => {
    const cards = [...document.querySelectorAll("#circuits [data-circuit]")];
    const rows = new Map();
    for (const card of cards) {
      const box = card.getBoundingClientRect();
      const row = Math.round(box.top);
      rows.set(row, [...(rows.get(row) ?? []), Math.round(box.height)]);
    }
    // Where the text itself is drawn, which may overflow the box that holds it.
    const text = (node) => {
      const range = document.createRange();
      range.selectNodeContents(node);
      return range;
    };
    const inside = (node, card) => {
      const a = text(node).getBoundingClientRect(), b = card.getBoundingClientRect();
      return a.left >= b.left - 0.5 && a.right <= b.right + 0.5;
    };
    return {
      overflow: document.documentElement.scrollWidth > innerWidth,
      namesOutside: cards.filter((card) => !inside(card.querySelector(".name"), card)).map((card) => card.dataset.circuit),
      // A label on two lines has two line boxes.
      brokenButtons: [...document.querySelectorAll(".commands button")]
        .filter((button) => !button.hidden && button.getClientRects().length > 0)
        .filter((button) => text(button).getClientRects().length > 1 || !inside(button, button.closest("[data-circuit]")))
        .map((button) => button.closest("[data-circuit]").dataset.circuit + " " + button.dataset.command),
      unevenRows: [...rows.values()].filter((heights) => new Set(heights).size > 1),
      columns: rows.size ? Math.max(...[...rows.values()].map((heights) => heights.length)) : 0,
    };
  })()`);
const layouts = {};
const screenshots = [signInShot, confirmShot];
for (const width of [1400, 400]) {
  await page.resize(width);
  await sleep(300);
  layouts[width] = await layout();
  screenshots.push(await page.screenshot(`dashboard-${width}.png`));
  const seen = layouts[width];
  expect(!seen.overflow, `at ${width} px, the page is wider than the window`);
  expect(seen.namesOutside.length === 0, `at ${width} px, names leave their card: ${seen.namesOutside}`);
  expect(seen.brokenButtons.length === 0, `at ${width} px, button labels break: ${seen.brokenButtons}`);
  expect(seen.unevenRows.length === 0, `at ${width} px, cards of a row differ in height: ${JSON.stringify(seen.unevenRows)}`);
}
expect(layouts[1400].columns >= 3 && layouts[400].columns === 1, "the grid does not adapt to the width");
const violations = [
  ...((await page("window.__violations")) ?? ["unreadable"]),
  ...((await slash("window.__violations")) ?? ["unreadable"]),
];
expect(violations.length === 0, "Content-Security-Policy violations");

console.log(
  JSON.stringify(
    { signedOut, wrongToken, before, withSlash, seen, evil, formLanding, fetchTitle, afterAttack, asked, cancelled, after, confirmed, layouts, violations, screenshots },
    null,
    1,
  ),
);
socket.close();
attacker.close();

for (const failure of failures) console.error(`FAILED: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
