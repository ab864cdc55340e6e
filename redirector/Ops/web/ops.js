// The ops dashboard: polls /-/ops/view (same origin; the browser resends the Basic credentials) every
// few seconds, renders the tables, keeps a client-side ring of each mirror's reported rate for the live
// chart, and draws the stored history (24 h per minute, 90 days per hour) with uPlot.
"use strict";
(() => {
  const LIVE_POINTS = 300;
  const palette = ["#4a90d9", "#e0a000", "#3b7d3b", "#b3261e", "#7b4fc9", "#00897b", "#c2185b", "#5d4037"];
  const live = { times: [], series: new Map(), chart: null, ids: [] };
  const history = { chart: null };
  const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
  const mbps = bps => bps * 8 / 1e6;
  const gb = b => b / 1e9;
  const $ = id => document.getElementById(id);
  window.ops = { live, history, polls: 0 };

  function cell(row, content, cls) {
    const td = row.insertCell();
    if (content instanceof Node) td.appendChild(content); else td.textContent = content;
    if (cls) td.className = cls;
    return td;
  }

  function bar(fraction, text) {
    const wrap = document.createElement("div");
    const b = document.createElement("div");
    b.className = "bar" + (fraction >= 1 ? " full" : fraction >= 0.8 ? " warn" : "");
    const fill = document.createElement("span");
    fill.style.width = Math.min(100, Math.max(0, fraction * 100)).toFixed(1) + "%";
    b.appendChild(fill);
    wrap.appendChild(b);
    wrap.appendChild(document.createTextNode(text));
    return wrap;
  }

  function renderMirrors(view) {
    const body = $("mirrors").tBodies[0];
    body.replaceChildren();
    for (const m of view.mirrors) {
      const row = body.insertRow();
      row.dataset.mirror = m.id;
      cell(row, m.id + (m.name && m.name !== m.id ? " (" + m.name + ")" : ""));
      const state = [m.status, m.enabled ? null : "disabled", m.draining ? "draining" : null, m.alive ? "alive" : m.exclusion ? "down" : "no heartbeat (kept: most mirrors silent at once)"].filter(Boolean).join(", ");
      cell(row, state + (m.exclusion ? " — excluded: " + m.exclusion : ""), m.exclusion ? "fail" : "ok");
      const cap = m.capacityBps > 0 ? m.rateBps / m.capacityBps : 0;
      cell(row, bar(cap, ` ${fmt.format(mbps(m.rateBps))} / ${fmt.format(mbps(m.capacityBps))} Mbit/s`));
      const quota = m.quotaBytes > 0 ? m.monthBytes / m.quotaBytes : 0;
      const rates = m.quotaRecentBps != null
        ? ` at ${fmt.format(mbps(m.quotaRecentBps))} Mbit/s over the last ${Math.round(m.quotaRecentMinutes)} min (period mean ${fmt.format(mbps(m.quotaMeanBps))})`
        : ` at the period mean, ${fmt.format(mbps(m.quotaMeanBps))} Mbit/s`;
      const runsOut = m.quotaRunsOutAt ? ` — runs out ${m.quotaRunsOutAt.slice(0, 16).replace("T", " ")} UTC${rates}` + (m.quotaWarning ? " (before the period ends)" : "") : "";
      cell(row, bar(quota, m.quotaBytes > 0 ? ` ${fmt.format(gb(m.monthBytes))} / ${fmt.format(gb(m.quotaBytes))} GB, billed from day ${m.billingDay}${runsOut}` : ` ${fmt.format(gb(m.monthBytes))} GB (no quota)`),
        m.quotaWarning ? "fail" : undefined);
      cell(row, m.healthy ? "passing" : "failing: " + (m.healthReason || "?"), m.healthy ? "ok" : "fail");
      cell(row, `serial ${m.serial}` + (m.serialsBehind > 0 ? `, ${m.serialsBehind} behind` : ", current") + (m.lastError ? " — " + m.lastError : ""),
        m.serialsBehind > 0 || m.lastError ? "fail" : "ok");
      cell(row, `${fmt.format(m.share * 100)} % (${m.redirectsToday})`);
      cell(row, String(m.connections));
    }
  }

  function renderCounts(id, entries) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    for (const e of entries) {
      const row = body.insertRow();
      cell(row, e.key);
      cell(row, String(e.count));
    }
  }

  function renderStaging(view) {
    const body = $("staging").tBodies[0];
    body.replaceChildren();
    for (const f of view.staging) {
      for (const r of f.regions) {
        const row = body.insertRow();
        cell(row, f.id);
        cell(row, r.region);
        cell(row, r.holding + " / " + r.mirrors);
        cell(row, fmt.format(r.holdingGbps) + " / " + fmt.format(r.capacityGbps) + " Gbit/s (" + Math.round(r.capacityShare * 100) + " %)");
        cell(row, r.expectedGbps == null ? "–" : fmt.format(r.expectedGbps) + " Gbit/s");
        cell(row, r.verdict);
      }
    }
    $("staging-none").hidden = view.staging.length > 0;
  }

  function renderOutcomes(view) {
    const body = $("outcomes").tBodies[0];
    body.replaceChildren();
    for (const o of view.outcomes) {
      const row = body.insertRow();
      row.dataset.outcome = o.outcome;
      cell(row, o.outcome);
      cell(row, String(o.today));
      cell(row, fmt.format(o.perSecond));
      cell(row, fmt.format(o.localPerSecond));
      cell(row, String(o.uniqueAddressesToday));
      cell(row, o.download ? "yes" : "");
    }
    $("requests-today").textContent = String(view.requestsToday);
    $("unique-all").textContent = String(view.uniqueAddressesAllToday);
    $("downloads-today").textContent = view.downloadsToday + " downloads";
    $("kestrel").textContent = view.serverRejections.map(e => e.key + " " + e.count).join(", ") || "none";
  }

  function chartWidth() { return Math.min(980, document.body.clientWidth - 40); }

  function updateLive(view) {
    const t = Date.parse(view.time) / 1000;
    live.times.push(t);
    for (const m of view.mirrors) {
      if (!live.series.has(m.id)) live.series.set(m.id, new Array(live.times.length - 1).fill(null));
    }
    for (const [id, values] of live.series) {
      const m = view.mirrors.find(x => x.id === id);
      values.push(m ? mbps(m.rateBps) : null);
    }
    if (live.times.length > LIVE_POINTS) {
      live.times.shift();
      for (const values of live.series.values()) values.shift();
    }
    const ids = [...live.series.keys()];
    const data = [live.times, ...ids.map(id => live.series.get(id))];
    if (!live.chart || ids.join() !== live.ids.join()) {
      live.chart?.destroy();
      live.ids = ids;
      live.chart = new uPlot({
        width: chartWidth(), height: 260,
        series: [{}, ...ids.map((id, i) => ({ label: id, stroke: palette[i % palette.length], width: 2, value: (u, v) => v == null ? "–" : fmt.format(v) + " Mbit/s" }))],
        axes: [{}, { label: "Mbit/s" }],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      }, data, $("live-chart"));
    } else {
      live.chart.setData(data);
    }
  }

  async function loadHistory() {
    const id = $("history-mirror").value;
    if (!id) return;
    const res = $("history-res").value;
    const answer = await fetch(`/-/ops/history/${encodeURIComponent(id)}?res=${res}`, { credentials: "same-origin" });
    if (!answer.ok) return;
    const points = await answer.json();
    const data = [points.map(p => p.time), points.map(p => mbps(p.bps))];
    history.chart?.destroy();
    history.chart = new uPlot({
      width: chartWidth(), height: 220,
      series: [{}, { label: id + " Mbit/s", stroke: "#4a90d9", width: 1.5, fill: "rgba(74,144,217,0.15)" }],
      axes: [{}, { label: "Mbit/s" }],
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    }, data, $("history-chart"));
  }

  function renderHistoryChoices(view) {
    const select = $("history-mirror");
    const ids = view.mirrors.map(m => m.id);
    const current = [...select.options].map(o => o.value);
    if (ids.join() === current.join()) return;
    const chosen = select.value;
    select.replaceChildren(...ids.map(id => new Option(id, id)));
    if (ids.includes(chosen)) select.value = chosen;
    loadHistory();
  }

  async function poll() {
    let delay = 2000;
    try {
      const answer = await fetch("/-/ops/view", { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok) throw new Error("view: HTTP " + answer.status);
      const view = await answer.json();
      delay = Math.max(500, view.pollSeconds * 1000);
      $("status").textContent = view.redisAvailable ? "live · updated " + new Date(view.time).toLocaleTimeString()
        : "Redis unavailable (" + view.redisError + ") — network figures are the last good ones; counting continues in memory";
      $("status").className = view.redisAvailable ? "status" : "status bad";
      $("rps").textContent = fmt.format(view.redirectsPerSecond);
      $("lrps").textContent = fmt.format(view.localRedirectsPerSecond);
      $("today").textContent = String(view.redirectsToday);
      $("unique").textContent = String(view.uniqueAddressesToday);
      $("serial").textContent = String(view.manifestSerial);
      $("pending").textContent = String(view.pendingRedirects);
      renderOutcomes(view);
      renderMirrors(view);
      renderCounts("files", view.files);
      renderCounts("countries", view.countries);
      renderStaging(view);
      updateLive(view);
      renderHistoryChoices(view);
      window.ops.polls++;
    } catch (e) {
      $("status").textContent = "dashboard cannot reach the redirector: " + e.message;
      $("status").className = "status bad";
    }
    setTimeout(poll, delay);
  }

  $("history-mirror").addEventListener("change", loadHistory);
  $("history-res").addEventListener("change", loadHistory);
  setInterval(loadHistory, 60000);
  poll();
})();
