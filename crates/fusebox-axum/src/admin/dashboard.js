// The fusebox dashboard's behaviour: fetches `circuits` and `unused-policies` every second,
// renders one card per circuit from the page's <template id="circuit-card">, and POSTs a
// card's command when one of its buttons is pressed (one listener on the list: the page has
// no inline handler). Requests go to the page's own origin with its session cookie; the
// router refuses commands from any other origin.
//
// A card is drawn by the `renderers` below, one per part of it, each from the circuit's
// JSON: a new field gets a renderer of its own. What each command does, and whether it asks
// first, is the `COMMANDS` table.
"use strict";
(() => {
  // The API lives beside this page, wherever the router is nested: `/admin` and `/admin/`
  // both call `/admin/circuits`.
  const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const list = document.getElementById("circuits");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const template = document.getElementById("circuit-card");
  const unused = document.getElementById("unused");
  const unusedNames = document.getElementById("unused-names");
  const cards = new Map();

  // Every command: the state it moves the circuit to (its button is hidden while the circuit
  // is there), and for those that stop or unguard traffic, the question asked first.
  const COMMANDS = {
    reset: { label: "reset", target: "closed" },
    "force-open": {
      label: "force open",
      target: "forced_open",
      confirm: (name) => `Force ${name} open? It rejects every call until someone resets it.`,
    },
    disable: {
      label: "disable",
      target: "disabled",
      confirm: (name) => `Disable ${name}? Every call goes through unguarded and nothing is recorded until someone resets it.`,
    },
    "metrics-only": { label: "metrics only", target: "metrics_only" },
  };
  // States in which calls are rejected: shaded in the sparkline.
  const REJECTING = new Set(["open", "half_open", "forced_open"]);
  // Transitions listed on the card; older ones fold away.
  const HISTORY_SHOWN = 3;
  const SVG = "http://www.w3.org/2000/svg";
  const SPARK_HEIGHT = 20;

  function setStatus(kind, text) {
    status.dataset.status = kind;
    status.textContent = text;
  }

  function percent(rate) {
    if (rate === null) return "–";
    const tenths = Math.round(rate * 1000) / 10;
    return (Number.isInteger(tenths) ? tenths : tenths.toFixed(1)) + " %";
  }

  function duration(secs) {
    if (secs < 60) return (Number.isInteger(secs) ? secs : secs.toFixed(1)) + " s";
    const whole = Math.floor(secs);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = whole % 60;
    return h > 0 ? `${h} h ${m} min` : `${m} min ${s} s`;
  }

  function stateName(state) {
    return state.replace("_", " ");
  }

  function set(card, field, text) {
    card.querySelector("." + field).textContent = text;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- The parts of a card ------------------------------------------------------------

  function renderHeader(card, circuit) {
    set(card, "state", stateName(circuit.state));
  }

  function renderMetrics(card, circuit) {
    set(card, "failure-rate", percent(circuit.metrics.failure_rate));
    set(card, "window", `${circuit.metrics.failures} failed of ${circuit.metrics.total}`);
    const calls = circuit.calls;
    set(card, "calls", `${calls.success} ok · ${calls.failure} failed · ${calls.ignored} ignored`);
    set(card, "rejected", String(calls.rejected));
    set(card, "time-in-state", duration(circuit.time_in_state_secs));
    set(card, "retry-after", circuit.retry_after_secs === null ? "–" : duration(circuit.retry_after_secs));
    set(card, "policy", circuit.policy);
    // A fleet-wide command standing on the circuit, and the replica that issued it.
    const standing = circuit.override;
    set(card, "override", standing ? `${standing.command} from ${standing.origin} since ${new Date(standing.since).toLocaleTimeString()}` : "–");
  }

  function rect(x, y, width, height, className) {
    const node = document.createElementNS(SVG, "rect");
    for (const [name, value] of Object.entries({ x, y, width, height })) node.setAttribute(name, String(value));
    node.setAttribute("class", className);
    return node;
  }

  // One bar per point, as tall as the highest failure rate sampled in it; points where the
  // circuit rejected calls are shaded, points without a sample stay blank.
  function renderSparkline(card, circuit) {
    const svg = card.querySelector(".spark");
    const { interval_secs: interval, points } = circuit.failure_rates;
    const key = JSON.stringify(points);
    if (svg.dataset.key === key) return;
    svg.dataset.key = key;
    svg.setAttribute("viewBox", `0 0 ${points.length} ${SPARK_HEIGHT}`);
    const shapes = [rect(0, SPARK_HEIGHT - 0.25, points.length, 0.25, "baseline")];
    let bars = 0;
    points.forEach((point, index) => {
      if (!point) return;
      if (REJECTING.has(point.state)) shapes.push(rect(index, 0, 1, SPARK_HEIGHT, "band"));
      if (point.failure_rate === null) return;
      // A sampled 0 % still shows, apart from a blank.
      const height = Math.max(point.failure_rate * SPARK_HEIGHT, 0.6);
      const level = point.failure_rate >= 0.5 ? "high" : point.failure_rate >= 0.1 ? "mid" : "low";
      shapes.push(rect(index + 0.12, SPARK_HEIGHT - height, 0.76, height, "bar " + level));
      bars += 1;
    });
    svg.replaceChildren(...shapes);
    svg.dataset.bars = String(bars);
    const rates = points.filter((point) => point && point.failure_rate !== null).map((point) => point.failure_rate);
    const minutes = Math.round((points.length * interval) / 60);
    const peak = rates.length ? `peak ${percent(Math.max(...rates))}` : points.some(Boolean) ? "no calls recorded" : "no samples yet";
    set(card, "spark-span", `failure rate · last ${minutes} min`);
    set(card, "spark-peak", peak);
    svg.setAttribute("aria-label", `failure rate over the last ${minutes} minutes: ${peak}`);
  }

  function transitionItem(transition) {
    const item = element("li");
    item.dataset.cause = transition.cause;
    const at = new Date(transition.at);
    const time = element("time", "at", at.toLocaleTimeString());
    time.dateTime = transition.at;
    time.title = at.toLocaleString();
    item.append(
      time,
      element("span", "move", `${stateName(transition.from)} → ${stateName(transition.to)}`),
      element("span", "summary", transition.summary),
    );
    return item;
  }

  function renderHistory(card, circuit) {
    const history = circuit.history;
    const section = card.querySelector(".history");
    const key = history.length === 0 ? "" : `${history.length} ${history[0].at}`;
    if (section.dataset.key === key) return;
    section.dataset.key = key;
    const [recent, older] = section.querySelectorAll(".transitions");
    recent.replaceChildren(...history.slice(0, HISTORY_SHOWN).map(transitionItem));
    older.replaceChildren(...history.slice(HISTORY_SHOWN).map(transitionItem));
    const fold = section.querySelector(".older");
    fold.hidden = history.length <= HISTORY_SHOWN;
    fold.querySelector("summary").textContent = `${history.length - HISTORY_SHOWN} older`;
    section.querySelector(".no-history").hidden = history.length > 0;
  }

  function renderCommands(card, circuit) {
    for (const button of card.querySelectorAll(".commands button[data-command]")) {
      button.hidden = COMMANDS[button.dataset.command].target === circuit.state;
    }
    // Someone else got there first: nothing left to confirm.
    const pending = card.dataset.confirming;
    if (pending && COMMANDS[pending].target === circuit.state) {
      closeConfirm(card);
      feedback(card, "info", `already ${stateName(circuit.state)}`);
    }
  }

  const renderers = [renderHeader, renderMetrics, renderSparkline, renderHistory, renderCommands];

  function update(card, circuit) {
    card.dataset.state = circuit.state;
    for (const render of renderers) render(card, circuit);
  }

  function cardFor(name) {
    let card = cards.get(name);
    if (!card) {
      card = template.content.firstElementChild.cloneNode(true);
      card.dataset.circuit = name;
      set(card, "name", name);
      cards.set(name, card);
    }
    return card;
  }

  function render(circuits) {
    const names = new Set();
    circuits.forEach((circuit, index) => {
      names.add(circuit.name);
      const card = cardFor(circuit.name);
      update(card, circuit);
      // Move a card only when it is out of place, so a focused button keeps its focus.
      if (list.children[index] !== card) list.insertBefore(card, list.children[index] || null);
    });
    for (const [name, card] of cards) {
      if (!names.has(name)) {
        card.remove();
        cards.delete(name);
      }
    }
    empty.hidden = circuits.length > 0;
  }

  function renderUnused(names) {
    unused.hidden = names.length === 0;
    const shown = [...unusedNames.children].map((item) => item.dataset.unused);
    if (JSON.stringify(shown) === JSON.stringify(names)) return;
    unusedNames.replaceChildren(
      ...names.map((name) => {
        const item = element("li");
        item.dataset.unused = name;
        item.append(element("code", "name", name), element("span", "pill", "not used yet"));
        return item;
      }),
    );
  }

  // --- Talking to the router ----------------------------------------------------------

  async function call(path, method) {
    const response = await fetch(base + path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    if (response.status === 401) {
      const error = new Error("signed out (the session ended or the token changed): reload this page to sign in again");
      error.unauthorized = true;
      throw error;
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || "HTTP " + response.status);
    return body;
  }

  function commandPath(name, command) {
    return `circuits/${encodeURIComponent(name)}/${command}`;
  }

  async function refresh() {
    try {
      const [circuits, unusedPolicies] = await Promise.all([call("circuits", "GET"), call("unused-policies", "GET")]);
      render(circuits);
      renderUnused(unusedPolicies);
      setStatus("ok", "updated " + new Date().toLocaleTimeString());
    } catch (error) {
      setStatus(error.unauthorized ? "unauthorized" : "error", error.message);
    }
  }

  // --- Commands -----------------------------------------------------------------------

  function feedback(card, kind, text) {
    const line = card.querySelector(".feedback");
    line.dataset.kind = kind;
    line.textContent = text;
    line.hidden = false;
  }

  function openConfirm(card, command) {
    const spec = COMMANDS[command];
    card.dataset.confirming = command;
    card.querySelector(".commands").hidden = true;
    const confirm = card.querySelector(".confirm");
    confirm.querySelector(".confirm-text").textContent = spec.confirm(card.dataset.circuit);
    confirm.querySelector("[data-confirm]").textContent = `yes, ${spec.label}`;
    confirm.hidden = false;
    card.querySelector(".feedback").hidden = true;
    // The safe answer has the focus: Enter does not force a circuit open by accident.
    confirm.querySelector("[data-cancel]").focus();
  }

  function closeConfirm(card) {
    delete card.dataset.confirming;
    card.querySelector(".confirm").hidden = true;
    card.querySelector(".commands").hidden = false;
  }

  async function run(card, command) {
    const name = card.dataset.circuit;
    const buttons = card.querySelectorAll(".actions button");
    for (const button of buttons) button.disabled = true;
    feedback(card, "pending", `${COMMANDS[command].label}…`);
    try {
      const circuit = await call(commandPath(name, command), "POST");
      update(card, circuit);
      const when = new Date().toLocaleTimeString();
      feedback(card, "ok", circuit.changed ? `${COMMANDS[command].label}: now ${stateName(circuit.state)} (${when})` : `already ${stateName(circuit.state)}`);
      setStatus("ok", `${name}: ${command} → ${circuit.state}`);
    } catch (error) {
      feedback(card, "error", `${COMMANDS[command].label} failed: ${error.message}`);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const card = button?.closest("[data-circuit]");
    if (!card) return;
    if (button.dataset.command) {
      const command = button.dataset.command;
      if (COMMANDS[command].confirm) openConfirm(card, command);
      else run(card, command);
    } else if ("confirm" in button.dataset) {
      const command = card.dataset.confirming;
      closeConfirm(card);
      if (command) run(card, command);
    } else if ("cancel" in button.dataset) {
      closeConfirm(card);
      feedback(card, "info", "cancelled: nothing changed");
    }
  });

  list.addEventListener("keydown", (event) => {
    const card = event.target.closest("[data-circuit]");
    if (event.key === "Escape" && card?.dataset.confirming) {
      closeConfirm(card);
      feedback(card, "info", "cancelled: nothing changed");
    }
  });

  async function loop() {
    await refresh();
    setTimeout(loop, 1000);
  }
  loop();
})();
