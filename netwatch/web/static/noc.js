// The NOC view: map states, problems first (cause and duration), kecamatan tiles, summary.
"use strict";
(() => {
  const {el, t, stateName, causeText, sinceText, ORDER} = NW;
  const STATES = ["down", "unreachable", "degraded", "maintenance", "unknown", "up"];

  function markers(site) {
    const out = [];
    if (site.flapping) out.push(el("span", {class: "marker flapping"}, t("flapping")));
    if (site.rebooted) out.push(el("span", {class: "marker rebooted"}, t("rebooted")));
    return out;
  }

  function renderMap(data) {
    const byId = new Map(data.sites.map((s) => [s.id, s]));
    for (const link of document.querySelectorAll("#map [data-site]")) {
      const site = byId.get(link.dataset.site);
      const state = site ? site.state : "unknown";
      if (link.dataset.state !== state) link.dataset.state = state;
      link.classList.toggle("flapping", Boolean(site && site.flapping));
      link.classList.toggle("rebooted", Boolean(site && site.rebooted));
      if (site) {
        const label = `${site.kelurahan}, Kec. ${site.kecamatan}: ${stateName(state)}` +
          (site.cause ? ` (${causeText(site.cause)})` : "");
        link.setAttribute("aria-label", label);
        link.querySelector("title").textContent = label;
      }
    }
  }

  function renderProblems(data, now) {
    const list = document.getElementById("problem-list");
    const problems = data.sites.filter((s) => s.state !== "up" || s.flapping || s.rebooted)
      .sort((a, b) => (ORDER[a.state] - ORDER[b.state]) ||
                      String(a.since).localeCompare(String(b.since)));
    const items = problems.map((s) => el("li", {class: "problem", dataset: {site: s.id,
                                                                            state: s.state}},
      el("a", {href: `/site/${s.id}`},
         el("span", {class: "badge", dataset: {state: s.state}}, stateName(s.state)),
         " ", el("strong", {}, s.kelurahan), " ", el("span", {class: "kec"}, s.kecamatan)),
      el("span", {class: "since"}, sinceText(s.state, s.since, data.timezone, now)),
      s.cause ? el("span", {class: "cause", dataset: {cause: s.cause.name || ""}},
                   causeText(s.cause)) : null,
      markers(s)));
    if (!items.length) items.push(el("li", {class: "none"}, t("none")));
    list.replaceChildren(...items);
  }

  function renderTiles(data) {
    const byKec = new Map();
    for (const site of data.sites) {
      if (!byKec.has(site.kecamatan)) byKec.set(site.kecamatan, {});
      const counts = byKec.get(site.kecamatan);
      counts[site.state] = (counts[site.state] || 0) + 1;
    }
    const tiles = [...byKec.entries()].sort((a, b) => {
      const worst = (c) => Math.min(...Object.keys(c).map((s) => ORDER[s]));
      return (worst(a[1]) - worst(b[1])) || a[0].localeCompare(b[0]);
    }).map(([name, counts]) => {
      const total = Object.values(counts).reduce((x, y) => x + y, 0);
      const worst = STATES.find((s) => counts[s]);
      const parts = STATES.filter((s) => counts[s] && s !== "up")
        .map((s) => el("span", {class: "count", dataset: {state: s}},
                       `${counts[s]} ${stateName(s)}`));
      return el("li", {class: "tile", dataset: {state: worst, kecamatan: name}},
                el("span", {class: "name"}, name),
                el("span", {class: "ok"}, `${counts.up || 0}/${total} ${stateName("up")}`),
                parts);
    });
    document.getElementById("tile-list").replaceChildren(...tiles);
  }

  function renderSummary(data) {
    const counts = {};
    for (const site of data.sites) counts[site.state] = (counts[site.state] || 0) + 1;
    const text = STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${stateName(s)}`);
    document.getElementById("summary").textContent =
      `${data.sites.length} ${t("sites")}: ${text.join(", ")}`;
  }

  function renderLegend() {
    document.getElementById("legend").replaceChildren(...STATES.map((s) =>
      el("li", {dataset: {state: s}}, el("span", {class: "swatch"}), stateName(s))));
  }

  NW.start("/api/v1/sites", (data) => {
    const now = new Date(data.generated);
    renderMap(data);
    renderProblems(data, now);
    renderTiles(data);
    renderSummary(data);
    renderLegend();
  });
})();
