// The fusebox dashboard's behaviour: fetches `circuits` every second, renders one card per
// circuit from the page's <template id="circuit-card">, and POSTs a card's command when one
// of its buttons is pressed (one listener on the list: the page has no inline handler).
// Requests go to the page's own origin with its session cookie; the router refuses
// commands from any other origin.
"use strict";
(() => {
  // The API lives beside this page, wherever the router is nested: `/admin` and `/admin/`
  // both call `/admin/circuits`.
  const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const list = document.getElementById("circuits");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const template = document.getElementById("circuit-card");
  const cards = new Map();

  function setStatus(kind, text) {
    status.dataset.status = kind;
    status.textContent = text;
  }

  function percent(rate) {
    return rate === null ? "–" : (rate * 100).toFixed(1) + " %";
  }

  function duration(secs) {
    if (secs < 60) return secs.toFixed(1) + " s";
    const whole = Math.floor(secs);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = whole % 60;
    return h > 0 ? `${h} h ${m} min` : `${m} min ${s} s`;
  }

  function set(card, field, text) {
    card.querySelector("." + field).textContent = text;
  }

  function update(card, circuit) {
    card.dataset.state = circuit.state;
    set(card, "state", circuit.state.replace("_", " "));
    set(card, "failure-rate", percent(circuit.metrics.failure_rate));
    set(card, "window", `${circuit.metrics.failures} failed of ${circuit.metrics.total}`);
    const calls = circuit.calls;
    set(card, "calls", `${calls.success} ok · ${calls.failure} failed · ${calls.ignored} ignored`);
    set(card, "rejected", String(calls.rejected));
    set(card, "time-in-state", duration(circuit.time_in_state_secs));
    set(card, "retry-after", circuit.retry_after_secs === null ? "–" : circuit.retry_after_secs + " s");
    set(card, "policy", circuit.policy);
    // A fleet-wide command standing on the circuit, and the replica that issued it.
    const standing = circuit.override;
    set(card, "override", standing ? `${standing.command} from ${standing.origin} since ${new Date(standing.since).toLocaleTimeString()}` : "–");
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

  async function call(path, method) {
    const response = await fetch(base + path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    if (response.status === 401) {
      const error = new Error("unauthorized (or the session expired): open this page once as …?token=<admin token>");
      error.unauthorized = true;
      throw error;
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || "HTTP " + response.status);
    return body;
  }

  function fail(error) {
    setStatus(error.unauthorized ? "unauthorized" : "error", error.message);
  }

  async function refresh() {
    try {
      render(await call("circuits", "GET"));
      setStatus("ok", "updated " + new Date().toLocaleTimeString());
    } catch (error) {
      fail(error);
    }
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-command]");
    if (!button) return;
    const card = button.closest("[data-circuit]");
    const name = card.dataset.circuit;
    const command = button.dataset.command;
    button.disabled = true;
    try {
      const circuit = await call(`circuits/${encodeURIComponent(name)}/${command}`, "POST");
      update(card, circuit);
      setStatus("ok", circuit.changed ? `${name}: ${command} → ${circuit.state}` : `${name} was already ${circuit.state}`);
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  });

  async function loop() {
    await refresh();
    setTimeout(loop, 1000);
  }
  loop();
})();
