// A site's page: verdict, cause and evidence, 24-hour timeline, devices with RTT and loss
// sparklines, neighbours, interfaces, maintenance windows, state changes.
"use strict";
(() => {
  const {el, svg, t, stateName, causeText, sinceText, clock, duration} = NW;
  const kode = document.body.dataset.site;
  const DAY = 86400e3;

  function evidenceList(evidence) {
    const rows = [];
    for (const [name, facts] of Object.entries((evidence && evidence.devices) || {})) {
      const parts = [stateName(facts.status === "down" ? "down" : facts.status)];
      if (facts.loss_ratio !== undefined) parts.push(`loss ${(facts.loss_ratio * 100).toFixed(0)}%`);
      if (facts.rtt_p90_seconds !== undefined) {
        parts.push(`RTT p90 ${(facts.rtt_p90_seconds * 1000).toFixed(1)} ms`);
      }
      rows.push(el("dt", {}, name), el("dd", {}, parts.join(", ")));
    }
    const findings = (evidence && evidence.findings) || [];
    if (findings.length) {
      rows.push(el("dt", {}, t("findings")),
                el("dd", {}, el("ul", {}, findings.map((f) => el("li", {}, f.text || f.kind)))));
    }
    for (const [key, value] of Object.entries(evidence || {})) {
      if (key !== "devices" && key !== "findings") rows.push(el("dt", {}, key), el("dd", {}, JSON.stringify(value)));
    }
    return el("dl", {class: "evidence"}, rows);
  }

  function timeline(data, now) {
    const start = now - DAY;
    const events = data.events.filter((e) => new Date(e.at) >= start);
    let state = events.length ? events[0].old : data.state;
    let from = start;
    const spans = [];
    for (const event of events) {
      spans.push([from, new Date(event.at).getTime(), state]);
      from = new Date(event.at).getTime();
      state = event.new;
    }
    spans.push([from, now.getTime(), state]);
    const bars = spans.filter(([a, b]) => b > a).map(([a, b, s]) => {
      const x = ((a - start) / DAY) * 1000, w = Math.max(0.5, ((b - a) / DAY) * 1000);
      const label = `${stateName(s)} ${clock(new Date(a).toISOString(), data.timezone, now)}` +
        `–${clock(new Date(b).toISOString(), data.timezone, now)}`;
      return svg("rect", {x: x.toFixed(1), y: 0, width: w.toFixed(1), height: 24,
                          "data-state": s, class: "span"}, svg("title", {}, label));
    });
    return svg("svg", {viewBox: "0 0 1000 24", class: "timeline", role: "img",
                       "aria-label": t("timeline")}, bars);
  }

  function sparkline(values, label, scale) {
    const present = values.filter((v) => v !== null);
    const max = Math.max(scale || 0, ...present, 1e-9);
    let d = "";
    values.forEach((v, i) => {
      if (v === null) return;
      const x = (i / (values.length - 1)) * 300, y = 38 - (v / max) * 36;
      d += `${d && values[i - 1] !== null ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
    });
    const latest = present.length ? present[present.length - 1] : null;
    const shown = latest === null ? t("no_data") :
      (scale === 1 ? `${(latest * 100).toFixed(0)}%` : `${latest.toFixed(2)} ms`);
    return el("figure", {class: "spark"},
      svg("svg", {viewBox: "0 0 300 40", role: "img", "aria-label": `${label}: ${shown}`},
          svg("path", {d, class: "line"})),
      el("figcaption", {}, `${label}: ${shown}`));
  }

  function table(headers, rows) {
    return el("div", {class: "scroll"}, el("table", {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {scope: "col"}, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }

  function render(data) {
    const now = new Date(data.generated);
    document.getElementById("verdict").replaceChildren(
      el("span", {class: "badge", dataset: {state: data.state}}, stateName(data.state)), " ",
      sinceText(data.state, data.since, data.timezone, now));
    document.getElementById("cause").replaceChildren(data.cause ?
      el("div", {}, el("p", {class: "cause", dataset: {cause: data.cause.name || ""}},
                            causeText(data.cause)),
         el("h4", {}, t("evidence")), evidenceList(data.cause.evidence)) :
      el("p", {}, t("nothing")));
    document.getElementById("timeline").replaceChildren(timeline(data, now));
    document.getElementById("devices").replaceChildren(
      table([t("device"), t("role"), t("address"), t("status"), t("suppressed"),
             t("identity"), t("boot")],
            data.devices.map((d) => [d.name, d.role, d.address,
              Object.entries(d.status).map(([p, s]) => `${p}: ${stateName(s)}`).join(", "),
              d.suppressed || "–",
              d.identity ? [d.identity.vendor, d.identity.model, d.identity.sysname]
                .filter(Boolean).join(" ") : "–",
              d.boot_time ? clock(d.boot_time, data.timezone, now) : "–"])),
      ...data.devices.filter((d) => d.series).map((d) => el("div", {class: "sparks"},
        el("h4", {}, d.name),
        sparkline(d.series.rtt_ms, `${d.name} ${t("rtt")}`),
        sparkline(d.series.loss, `${d.name} ${t("loss")}`, 1))));
    const neighbours = [];
    for (const d of data.devices) {
      if (d.parent) neighbours.push(el("li", {}, `${d.name} ${t("parent")} ${d.parent}`));
    }
    if (data.upstream) {
      neighbours.push(el("li", {}, `${t("upstream")}: ${data.upstream.name} (${data.upstream.id})` +
                                   (data.upstream.down ? ` — ${stateName("down")}` : "")));
    }
    // where the neighbours the devices report contradict the lines above
    for (const d of data.devices) {
      for (const m of d.topology_mismatches) {
        neighbours.push(el("li", {class: "mismatch"}, `⚠ ${d.name}: ${t("mismatch")} ` +
          `(${m.kind}): ${t("configured")} ${m.expected || "–"}, ${t("seen")} ${m.observed}`));
      }
    }
    document.getElementById("neighbours").replaceChildren(
      ...(neighbours.length ? neighbours : [el("li", {}, t("nothing"))]));
    // what each device's own LLDP, MNDP and CDP tables say, where they were read
    const rows = data.devices.flatMap((d) => (d.neighbours || []).map((n) => [d.name,
      n.ifname || "–", n.protocol, n.name || n.chassis, n.port || "–",
      n.device || [t("unknown_device"), ...n.addresses].join(" ")]));
    // and where other devices' tables name these (radios and APs often speak none)
    const seen = data.devices.flatMap((d) => d.seen_by.map((s) => el("li", {},
      `${d.name}${s.port ? ` (${s.port})` : ""} ${t("seen_by")} ${s.device}` +
      `${s.ifname ? ` ${s.ifname}` : ""} · ${s.protocol}`)));
    document.getElementById("neighbour-rows").replaceChildren(rows.length ?
      table([t("device"), t("ifname"), t("protocol"), t("neighbour"), t("port"),
             t("in_config")], rows) :
      el("p", {}, data.devices.some((d) => d.neighbours) ? t("no_neighbours") :
                  t("neighbours_unknown")),
      ...(seen.length ? [el("ul", {class: "seen-by"}, seen)] : []));
    const interfaces = data.devices.flatMap((d) => d.interfaces.map((i) => [d.name,
      i.ifname + (d.uplink === i.ifname ? " ⬆" : ""), i.alias || "",
      i.oper_up === undefined ? "–" : (i.oper_up ? "up" : "down"),
      i.speed_bytes ? `${(i.speed_bytes * 8 / 1e6).toFixed(0)} Mbit/s` : "–",
      i.wireless_clients ?? "–"]));
    document.getElementById("interfaces").replaceChildren(interfaces.length ?
      table([t("device"), t("name"), t("alias"), t("oper"), t("speed"), t("clients")],
            interfaces) : el("p", {}, t("nothing")));
    document.getElementById("maintenance").replaceChildren(...(data.maintenance.length ?
      data.maintenance.map((w) => el("li", {class: w.active ? "active" : ""},
        w.start ? `${w.start} – ${w.end}` :
          `${t("weekly")} ${w.weekly.days.join(", ")} ${w.weekly.at}, ` +
          duration(w.duration_seconds),
        w.reason ? ` · ${w.reason}` : "", w.active ? ` (${t("active")})` : "")) :
      [el("li", {}, t("nothing"))]));
    document.getElementById("events").replaceChildren(...(data.events.length ?
      data.events.slice().reverse().map((e) => el("li", {},
        el("time", {datetime: e.at}, clock(e.at, data.timezone, now)), " ",
        `${stateName(e.old)} → ${stateName(e.new)}`,
        (e.cause.name || e.cause.text) ? ` · ${causeText(e.cause)}` : "")) : [el("li", {}, t("nothing"))]));
  }

  NW.start(`/api/v1/sites/${encodeURIComponent(kode)}`, render);
})();
