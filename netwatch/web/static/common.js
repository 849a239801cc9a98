// netwatch pages: words (Bahasa Indonesia by default, English on the switch), time and
// duration formats, the theme switch, safe DOM building, and the polling loop.
"use strict";
const NW = (() => {
  const WORDS = {
    id: {
      updated: "Diperbarui", stale: "(data lama: API tidak menjawab)", dark: "Tema gelap",
      light: "Tema terang", problems: "Gangguan", map: "Peta kelurahan",
      kecamatan: "Kecamatan", loading: "Memuat…", none: "Tidak ada gangguan",
      back: "← Semua site", cause: "Sebab", timeline: "24 jam terakhir", devices: "Perangkat",
      neighbours: "Tetangga", interfaces: "Antarmuka", maintenance: "Pemeliharaan",
      events: "Perubahan status", since: "sejak", flapping: "naik-turun",
      rebooted: "baru restart", sites: "site", evidence: "Bukti", nothing: "Tidak ada",
      parent: "di belakang", children: "di depan", upstream: "POP/upstream",
      active: "sedang berlangsung", weekly: "mingguan", rtt: "RTT (ms)", loss: "Loss",
      device: "Perangkat", role: "Peran", address: "Alamat", status: "Status",
      suppressed: "Ditekan", identity: "Identitas", boot: "Boot", name: "Nama",
      oper: "Oper", speed: "Kecepatan", clients: "Klien", alias: "Alias",
      changes: "perubahan/jam", no_data: "tanpa data", other: "English",
      states: {up: "normal", degraded: "terganggu", down: "putus",
               unreachable: "tak terjangkau", maintenance: "pemeliharaan",
               unknown: "belum diketahui"},
      min: "menit", hour: "jam", day: "hari", ago: "lalu", findings: "Temuan",
      causes: {maintenance: "pemeliharaan", upstream_down: "POP/upstream putus",
               power: "listrik (PLN/catu daya)", device_rebooted: "perangkat restart",
               upstream_loss: "loss di POP/upstream", uplink_saturated: "uplink penuh",
               radio_degraded: "radio menurun", storage_full: "penyimpanan penuh",
               device_overload: "perangkat kelebihan beban", unknown: "belum diketahui"},
      mismatch: "topologi tidak sesuai", configured: "konfigurasi", seen: "terlihat",
      ifname: "Antarmuka", protocol: "Protokol", neighbour: "Tetangga", port: "Port",
      in_config: "Di konfigurasi", unknown_device: "tidak dikenal", seen_by: "terlihat dari",
      no_neighbours: "Tabel tetangga kosong",
      neighbours_unknown: "Tabel tetangga belum dibaca (SNMP)",
    },
    en: {
      updated: "Updated", stale: "(stale: the API does not answer)", dark: "Dark theme",
      light: "Light theme", problems: "Problems", map: "Kelurahan map",
      kecamatan: "Kecamatan", loading: "Loading…", none: "No problems",
      back: "← All sites", cause: "Cause", timeline: "Last 24 hours", devices: "Devices",
      neighbours: "Neighbours", interfaces: "Interfaces", maintenance: "Maintenance",
      events: "State changes", since: "since", flapping: "flapping",
      rebooted: "rebooted", sites: "sites", evidence: "Evidence", nothing: "None",
      parent: "behind", children: "in front of", upstream: "POP/upstream",
      active: "in progress", weekly: "weekly", rtt: "RTT (ms)", loss: "Loss",
      device: "Device", role: "Role", address: "Address", status: "Status",
      suppressed: "Suppressed", identity: "Identity", boot: "Boot", name: "Name",
      oper: "Oper", speed: "Speed", clients: "Clients", alias: "Alias",
      changes: "changes/hour", no_data: "no data", other: "Bahasa Indonesia",
      states: {up: "up", degraded: "degraded", down: "down", unreachable: "unreachable",
               maintenance: "maintenance", unknown: "unknown"},
      min: "min", hour: "h", day: "d", ago: "ago", findings: "Findings",
      causes: {maintenance: "maintenance", upstream_down: "POP/upstream down",
               power: "power (grid/supply)", device_rebooted: "device rebooted",
               upstream_loss: "loss at the POP/upstream", uplink_saturated: "uplink saturated",
               radio_degraded: "radio degraded", storage_full: "storage full",
               device_overload: "device overloaded", unknown: "unknown"},
      mismatch: "topology mismatch", configured: "configured", seen: "seen",
      ifname: "Interface", protocol: "Protocol", neighbour: "Neighbour", port: "Port",
      in_config: "In the config", unknown_device: "unknown", seen_by: "seen from",
      no_neighbours: "Neighbour tables empty",
      neighbours_unknown: "Neighbour tables not read yet (SNMP)",
    },
  };
  const ORDER = {down: 0, unreachable: 1, degraded: 2, maintenance: 3, unknown: 4, up: 5};
  let lang = localStorage.getItem("nw-lang") === "en" ? "en" : "id";
  let theme = localStorage.getItem("nw-theme") ||
    (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  let last = null;  // the last answer, re-rendered when the language changes
  let renderer = null;

  const t = (key) => WORDS[lang][key] ?? key;
  const stateName = (state) => WORDS[lang].states[state] ?? state;
  // a site's cause in words: its name (netwatch_site_cause) first, then the verdict's text;
  // "unknown" adds nothing to the verdict's text, so it is left out
  const causeText = (cause) => [
    cause.name && cause.name !== "unknown" && (WORDS[lang].causes[cause.name] ?? cause.name),
    cause.text].filter(Boolean).join(": ");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d) return `${d} ${t("day")}` + (h ? ` ${h} ${t("hour")}` : "");
    if (h) return `${h} ${t("hour")}` + (m ? ` ${m} ${t("min")}` : "");
    return `${m} ${t("min")}`;
  }

  function clock(iso, tz, now) {
    const at = new Date(iso);
    const locale = lang === "id" ? "id-ID" : "en-GB";
    const time = at.toLocaleTimeString(locale, {timeZone: tz, hour: "2-digit",
                                                minute: "2-digit", hour12: false});
    const day = (d) => d.toLocaleDateString("en-CA", {timeZone: tz});
    if (day(at) === day(now)) return time.replace(".", ":");
    const date = at.toLocaleDateString(locale, {timeZone: tz, day: "numeric", month: "short"});
    return `${date} ${time.replace(".", ":")}`;
  }

  // "putus sejak 07:12, 23 menit"
  function sinceText(state, since, tz, now) {
    if (!since) return stateName(state);
    const seconds = (now - new Date(since)) / 1000;
    return `${stateName(state)} ${t("since")} ${clock(since, tz, now)}, ${duration(seconds)}`;
  }

  function applyWords() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    const langButton = document.getElementById("lang");
    langButton.textContent = t("other");
    langButton.lang = lang === "id" ? "en" : "id";
    document.getElementById("theme").textContent = theme === "dark" ? t("light") : t("dark");
  }

  function applyTheme() {
    document.documentElement.dataset.theme = theme;
    applyWords();
  }

  function start(url, render) {
    renderer = render;
    applyTheme();
    document.getElementById("lang").addEventListener("click", () => {
      lang = lang === "id" ? "en" : "id";
      localStorage.setItem("nw-lang", lang);
      applyWords();
      if (last) renderer(last);
    });
    document.getElementById("theme").addEventListener("click", () => {
      theme = theme === "dark" ? "light" : "dark";
      localStorage.setItem("nw-theme", theme);
      applyTheme();
    });
    let every = 5;
    async function tick() {
      try {
        const response = await fetch(url, {cache: "no-store"});
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        last = await response.json();
        every = last.refresh_seconds || every;
        renderer(last);
        const now = new Date(last.generated);
        const updated = document.getElementById("updated");
        updated.textContent = clock(last.generated, last.timezone, now);
        updated.dateTime = last.generated;
        document.getElementById("stale").hidden = true;
        window.nwUpdates = (window.nwUpdates || 0) + 1;
        if (window.nwUpdates === 1) performance.mark("nw-first-data");
      } catch (error) {
        document.getElementById("stale").hidden = false;
      }
      setTimeout(tick, every * 1000);
    }
    tick();
  }

  return {t, stateName, causeText, el, svg, duration, clock, sinceText, start, ORDER,
          lang: () => lang};
})();
